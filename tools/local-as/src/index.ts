export { startLocalAs } from './server.js'
export type { LocalAs, LocalAsEvent } from './server.js'
export { defaultAudience, demoUser, opaqueAudience } from './options.js'
export type {
  LocalAsLogger,
  LocalAsOptions,
  LocalAsTtl,
  LocalResourceServer,
  LocalUser,
  LocalUserClaims,
} from './options.js'
export {
  localClientPrivateJwk,
  localClientPrivatePem,
  localClients,
  localClientScope,
  localPostLogoutRedirectUris,
  localRedirectUris,
} from './clients.js'
export type { LocalClient } from './clients.js'
export { completeLogin, CompleteLoginError } from './complete-login.js'
export type { AuthorizationResponse, CompleteLoginOptions } from './complete-login.js'
export { completeLogout } from './complete-logout.js'
export type { CompleteLogoutOptions } from './complete-logout.js'
export { CookieJar } from './cookie-jar.js'
