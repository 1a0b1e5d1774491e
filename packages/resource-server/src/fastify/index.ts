export type { RequireTokenOptions } from '../guard.js'
export { requireAccess, requireToken, requireScopes, type AuthHook } from './hooks.js'
export { protectedResourceMetadata, type ProtectedResourceMetadataOptions } from './metadata.js'
export { fastifyResourceServer, type FastifyResourceServerOptions } from './plugin.js'
