export type { RequireAuthOptions } from '../guard.js'
export { requireAccess, requireAuth, requireScopes, type AuthHook } from './hooks.js'
export { protectedResourceMetadata, type ProtectedResourceMetadataOptions } from './metadata.js'
export { fastifyResourceServer, type FastifyResourceServerOptions } from './plugin.js'
