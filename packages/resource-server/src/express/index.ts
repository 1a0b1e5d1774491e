export { authErrorHandler } from './error-handler.js'
export { requireAccess, requireAuth, requireScopes, type RequireAuthOptions } from './middleware.js'
