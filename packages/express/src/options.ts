import type { Client } from '@codegrant/core'
import { createMemoryLock, type SessionLock } from './lock.js'
import { createMemorySessionIndex, type SessionIndex } from './session-index.js'
import { createTokenCipher, type TokenCipher } from './token-cipher.js'

/** Receives operational events the package does not throw (revocation failed, ...). */
export interface AuthLogger {
  warn(message: string, details?: Record<string, unknown>): void
}

/** Paths of the routes `auth()` mounts (relative to where the router is mounted). */
export interface AuthRoutes {
  /** @default '/login' */
  login?: string
  /** Must be the path of the client's `redirectUri`. @default '/callback' */
  callback?: string
  /** @default '/logout' */
  logout?: string
  /** OpenID Connect Back-Channel Logout endpoint, or `false` for none. @default '/backchannel-logout' */
  backchannelLogout?: string | false
}

/** Options of {@link auth}. */
export interface AuthOptions {
  /**
   * The `@codegrant/core` client, or a function that creates it (called on first use and again
   * after a failure, so the app can start before the AS is reachable).
   */
  client: Client | (() => Promise<Client>)
  /**
   * Secret(s) the token encryption keys are derived from (HKDF). The first encrypts; all decrypt,
   * so rotate by putting the new secret first. At least 32 characters each.
   */
  secret: string | readonly string[]
  routes?: AuthRoutes
  /** Scope of the login. @default the client's scope */
  scope?: string
  /** RFC 8707 resource indicator(s) the access token is requested for. */
  resource?: string | string[]
  /** `audience` parameter (for servers that use it instead of `resource`). */
  audience?: string
  /** Extra authorization request parameters (`prompt`, `ui_locales`, ...). */
  authorizationParams?: Record<string, string>
  /** @default the client's response mode */
  responseMode?: 'query' | 'form_post'
  /** Where to go after a login without a valid `returnTo`. @default '/' */
  defaultReturnTo?: string
  /** Where to go after logout when the AS has no end_session_endpoint. @default '/' */
  postLogoutRedirect?: string
  /** `post_logout_redirect_uri` sent to the AS. @default the client's `postLogoutRedirectUri` */
  postLogoutRedirectUri?: string
  /** How many logins may be in progress at once per session (oldest dropped). @default 10 */
  maxTransactions?: number
  /**
   * Refresh the access token this many seconds before it expires, but never earlier than half
   * its lifetime. @default 60
   */
  refreshMargin?: number
  /** Seconds after login when the session ends regardless of activity, or `false`. @default 604800 (7 days) */
  absoluteDuration?: number | false
  /**
   * Key of this package's data in `req.session`. Several routers may share it (one login per
   * session, each router sees only the users that logged in through it). @default 'codegrant'
   */
  sessionKey?: string
  /**
   * Seconds between two `store.touch` calls of one session that reach the store (express-session
   * touches on every request a session is not saved, to roll its expiry): a read-only request
   * then costs one store read and no write. The store entry may expire up to this much before
   * the cookie does. `0` passes every touch through. @default 60
   */
  touchAfter?: number
  /** Lock for refreshes and token writes. @default in-process ({@link createMemoryLock}) */
  lock?: SessionLock
  /** Index for back-channel logout. @default in-process ({@link createMemorySessionIndex}) */
  sessionIndex?: SessionIndex
  /** Revoke the refresh token at logout when the AS has a revocation endpoint. @default true */
  revokeOnLogout?: boolean
  /**
   * At login, when the ID token lacks the claims of a scope asked for (`profile`, `email`,
   * `address`, `phone`) and the AS has a `userinfo_endpoint`, fetch them from UserInfo (its
   * `sub` must be the ID token's) and keep them with the user. The ID token's claims always win;
   * `iss`, `aud`, `acr`, `amr`, `auth_time`, `sid` and the other protocol claims never come from
   * UserInfo. A failed UserInfo request fails the login. @default false
   * @see https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
   */
  fetchUserInfoAtLogin?: boolean
  logger?: AuthLogger
}

/** The frozen, validated configuration. */
export interface ResolvedConfig {
  readonly getClient: () => Promise<Client>
  readonly cipher: TokenCipher
  readonly routes: Readonly<Required<AuthRoutes>>
  readonly scope: string | undefined
  readonly resource: string | string[] | undefined
  readonly audience: string | undefined
  readonly authorizationParams: Readonly<Record<string, string>> | undefined
  readonly responseMode: 'query' | 'form_post' | undefined
  readonly defaultReturnTo: string
  readonly postLogoutRedirect: string
  readonly postLogoutRedirectUri: string | undefined
  readonly maxTransactions: number
  readonly refreshMargin: number
  readonly absoluteDuration: number | false
  readonly sessionKey: string
  readonly touchAfter: number
  readonly lock: SessionLock
  readonly localLock: SessionLock
  readonly sessionIndex: SessionIndex
  readonly revokeOnLogout: boolean
  readonly fetchUserInfoAtLogin: boolean
  readonly logger: AuthLogger | undefined
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object'

function path(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new TypeError(`"${name}" must be a path starting with "/"`)
  }
  return value
}

function count(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new TypeError(`"${name}" must be a number >= ${min}`)
  }
  return value
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`"${name}" must be a non-empty string`)
  }
  return value
}

function clientGetter(client: unknown): () => Promise<Client> {
  if (typeof client === 'function') {
    let pending: Promise<Client> | undefined
    return () => {
      pending ??= (client as () => Promise<Client>)().catch((err: unknown) => {
        pending = undefined
        throw err
      })
      return pending
    }
  }
  if (
    isObject(client) &&
    typeof client.issuer === 'string' &&
    typeof client.clientId === 'string'
  ) {
    const ready = Promise.resolve(client as unknown as Client)
    return () => ready
  }
  throw new TypeError('"client" must be a Client from createClient() or a function returning one')
}

/** Validates `auth()` options once, applies defaults and freezes the result. */
export function resolveOptions(options: AuthOptions): ResolvedConfig {
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError('"secret" must be a string or a non-empty array of strings')
  }
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < 32) {
      throw new TypeError('"secret" must be at least 32 characters long')
    }
  }
  const routes = options.routes ?? {}
  if (!isObject(routes)) throw new TypeError('"routes" must be an object')
  const backchannel = routes.backchannelLogout
  const responseMode = options.responseMode
  if (responseMode !== undefined && responseMode !== 'query' && responseMode !== 'form_post') {
    throw new TypeError('"responseMode" must be "query" or "form_post"')
  }
  const resource = options.resource
  if (
    resource !== undefined &&
    typeof resource !== 'string' &&
    !(Array.isArray(resource) && resource.every((r) => typeof r === 'string'))
  ) {
    throw new TypeError('"resource" must be a string or an array of strings')
  }
  const params = options.authorizationParams
  if (
    params !== undefined &&
    (!isObject(params) || !Object.values(params).every((v) => typeof v === 'string'))
  ) {
    throw new TypeError('"authorizationParams" must be an object of strings')
  }
  const absolute = options.absoluteDuration
  if (absolute !== undefined && absolute !== false) count('absoluteDuration', absolute, 0, 1)
  const lock = options.lock
  if (lock !== undefined && (!isObject(lock) || typeof lock.acquire !== 'function')) {
    throw new TypeError('"lock" must be a SessionLock')
  }
  const index = options.sessionIndex
  if (
    index !== undefined &&
    (!isObject(index) || typeof index.find !== 'function' || typeof index.forget !== 'function')
  ) {
    throw new TypeError('"sessionIndex" must be a SessionIndex')
  }
  const logger = options.logger
  if (logger !== undefined && (!isObject(logger) || typeof logger.warn !== 'function')) {
    throw new TypeError('"logger" must have a warn() method')
  }
  for (const name of ['revokeOnLogout', 'fetchUserInfoAtLogin'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new TypeError(`"${name}" must be a boolean`)
    }
  }
  const localLock = createMemoryLock()

  return Object.freeze({
    getClient: clientGetter(options.client),
    cipher: createTokenCipher(secrets as readonly string[]),
    routes: Object.freeze({
      login: path('routes.login', routes.login, '/login'),
      callback: path('routes.callback', routes.callback, '/callback'),
      logout: path('routes.logout', routes.logout, '/logout'),
      backchannelLogout:
        backchannel === false
          ? false
          : path('routes.backchannelLogout', backchannel, '/backchannel-logout'),
    }),
    scope: optionalString('scope', options.scope),
    resource,
    audience: optionalString('audience', options.audience),
    authorizationParams: params === undefined ? undefined : Object.freeze({ ...params }),
    responseMode,
    defaultReturnTo: path('defaultReturnTo', options.defaultReturnTo, '/'),
    postLogoutRedirect: path('postLogoutRedirect', options.postLogoutRedirect, '/'),
    postLogoutRedirectUri: optionalString('postLogoutRedirectUri', options.postLogoutRedirectUri),
    maxTransactions: count('maxTransactions', options.maxTransactions, 10, 1),
    refreshMargin: count('refreshMargin', options.refreshMargin, 60, 0),
    absoluteDuration: absolute === undefined ? 604_800 : absolute,
    sessionKey: optionalString('sessionKey', options.sessionKey) ?? 'codegrant',
    touchAfter: count('touchAfter', options.touchAfter, 60, 0),
    lock: lock ?? localLock,
    localLock,
    sessionIndex: index ?? createMemorySessionIndex(),
    revokeOnLogout: options.revokeOnLogout ?? true,
    fetchUserInfoAtLogin: options.fetchUserInfoAtLogin ?? false,
    logger,
  })
}
