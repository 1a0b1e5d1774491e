export { authErrorHandler } from './error-handler.js'
export { protectedResourceMetadata } from './metadata.js'
export { requireAccess, requireAuth, requireScopes, type RequireAuthOptions } from './middleware.js'
