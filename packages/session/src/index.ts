// @codegrant/session: the framework-agnostic session engine. Application code uses the first
// group; framework adapters (@codegrant/express, a Fastify plugin, ...) the second (the SPI).

// For application code (re-exported by the adapters).
export { AuthError, isAuthError } from './errors.js'
export type { AuthErrorCode } from './errors.js'
export type { AuthLogger, AuthOptions, AuthRoutes } from './options.js'
export type { GetAccessTokenOptions, RequestAuth } from './request-auth.js'
export { DEFAULT_IDENTITY_CLAIM_FILTER } from './user-claims.js'
export type { AfterCallback, AfterCallbackInput } from './after-callback.js'
export type { AddressClaim, UserClaims } from './user-claims.js'
export { createMemoryLock } from './lock.js'
export type { ReleaseLock, SessionLock } from './lock.js'
export { createRedisLock } from './redis-lock.js'
export type { RedisLockOptions } from './redis-lock.js'
export { createMemorySessionIndex } from './session-index.js'
export type { SessionIndex } from './session-index.js'
export { createRedisSessionIndex } from './redis-session-index.js'
export type { RedisSessionIndexOptions } from './redis-session-index.js'
export type { RedisCommandClient } from './redis-client.js'
export { createRedisRefreshHandoff } from './refresh-handoff.js'
export type { RedisRefreshHandoffOptions, RefreshHandoff } from './refresh-handoff.js'
export { claimEqualsTest, claimIncludesTest } from './access.js'
export type { ClaimTest, RequiresAuthOptions } from './access.js'
export { safeReturnTo } from './return-to.js'

// Adapter SPI: configuration and context.
export { resolveOptions } from './options.js'
export type { ResolvedOptions } from './options.js'
export { clientOf, createContext, identityOf, isShared } from './context.js'
export type { AuthContext } from './context.js'
// Adapter SPI: the vault and the session it works on.
export { createSessionVault } from './session-vault.js'
export type {
  AcquireLock,
  SessionStore,
  SessionVault,
  UpdateOutcome,
  UserUpdate,
  VaultOptions,
  VaultOwner,
  VaultSession,
} from './session-vault.js'
export { createCookieVault, REFRESH_HANDOFF_TTL_MS, sessionTooLarge } from './cookie-vault.js'
export type { CookieVaultOptions } from './cookie-vault.js'
export type { SessionData, StoredLogin, StoredUser } from './session-record.js'
export type { TokenCipher } from './token-cipher.js'
// Adapter SPI: per request.
export {
  endExpiredSession,
  holdsOwnUser,
  missingSession,
  prepareSession,
} from './request-session.js'
export { createRequestAuth } from './request-auth.js'
// Adapter SPI: the flows.
export { startLogin } from './login.js'
export type { LoginParams, MountInput } from './login.js'
export { completeLogin } from './callback.js'
export type { CallbackInput, CallbackOutcome, ResubmitPage } from './callback.js'
export { logOut } from './logout.js'
export type { LogoutParams } from './logout.js'
export { loginParams, logoutParams } from './flow-options.js'
export type { LoginOptions, LogoutOptions } from './flow-options.js'
export { backchannelLogOut, backchannelLogOutCookies } from './backchannel-logout.js'
export { endLoggedOutSession } from './logged-out.js'
export { accessRule, decideAccess, isPlainRule } from './access.js'
export { gateRequest, gatesRequests, isOwnRoute, isPageNavigation } from './gate.js'
export type { GateDecision, GateInput, NavigationHeaders } from './gate.js'
export type { AccessDecision, AccessInput, AccessRule } from './access.js'
export { NO_STORE } from './outcome.js'
export type { ErrorBody, JsonReply, Redirect, ResponseHeaders } from './outcome.js'
