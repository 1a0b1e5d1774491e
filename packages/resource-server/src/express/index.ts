export { tokenErrorHandler } from './error-handler.js'
export { protectedResourceMetadata } from './metadata.js'
export {
  requireAccess,
  requireToken,
  requireScopes,
  type RequireTokenOptions,
} from './middleware.js'
