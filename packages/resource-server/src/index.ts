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
  ClaimMatcher,
  DpopOptions,
  IntrospectionOptions,
  IssuerOptions,
  Logger,
  Requirements,
  ResourceMetadataOptions,
  VerifierOptions,
} from './options.js'
export {
  createRedisReplayStore,
  type RedisReplayStoreOptions,
  type RedisSetClient,
  type ReplayStore,
} from './replay-store.js'
export {
  getProtectedResourceMetadata,
  handleProtectedResourceMetadata,
  protectedResourceMetadataPaths,
  type MetadataResponse,
  type ProtectedResourceMetadata,
} from './resource-metadata.js'
export { createVerifier, warmUp, type Verifier } from './verifier.js'
export { buildWwwAuthenticate, type ChallengeParams } from './www-authenticate.js'
