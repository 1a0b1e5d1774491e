export { CodegrantError, isCodegrantError } from './errors.js'
export type { CodegrantErrorCode, OAuthErrorDetails } from './errors.js'
export type { IdTokenClaims, LoginTransaction, TokenSet } from './types.js'
