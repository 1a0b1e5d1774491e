export { checkAccess } from './access.js'
export type { AuthInfo } from './auth-info.js'
export {
  ERROR_TABLE,
  ResourceServerError,
  toErrorResponse,
  type ChallengeDetails,
  type ErrorResponse,
  type ErrorTableEntry,
  type ResourceServerErrorCode,
} from './errors.js'
export type { VerifyRequest } from './extract.js'
export type {
  ClaimCheck,
  DpopOptions,
  IntrospectionOptions,
  Logger,
  Requirements,
  VerifierOptions,
} from './options.js'
export { createVerifier, type Verifier } from './verifier.js'
export { buildWwwAuthenticate, type ChallengeParams } from './www-authenticate.js'
