import { isCodegrantError, type Client } from '@codegrant/core'
import { booleanOption, fail, numberOption, optionalString } from '@codegrant/internal'
import { AuthError } from './errors.js'
import { createMemoryLock, type SessionLock } from './lock.js'
import { createMemorySessionIndex, type SessionIndex } from './session-index.js'
import type { AfterCallback } from './after-callback.js'
import { createTokenCipher, type TokenCipher } from './token-cipher.js'
import { DEFAULT_IDENTITY_CLAIM_FILTER } from './user-claims.js'

/** Receives operational events the package does not throw (revocation failed, ...). */
export interface AuthLogger {
  warn(message: string, details?: Record<string, unknown>): void
}

/**
 * Paths of the routes the login middleware (`auth()`) mounts, relative to where it is mounted.
 */
export interface AuthRoutes {
  /**
   * `false` mounts no login route: logins start from the app's handlers (`login(req, res)` of the
   * adapter) and from the guards. @default '/login'
   */
  login?: string | false
  /** Must be the path of the client's `redirectUri`. @default '/callback' */
  callback?: string
  /** `false` mounts no logout route: call the adapter's `logout(req, res)`. @default '/logout' */
  logout?: string | false
  /** OpenID Connect Back-Channel Logout endpoint, or `false` for none. @default '/backchannel-logout' */
  backchannelLogout?: string | false
}

/**
 * Options of the login middleware: `auth()` of `@codegrant/express`, and the same options for
 * every adapter on this package ({@link resolveOptions} validates them).
 */
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
  /**
   * Every request through the login middleware requires a logged-in user, as behind
   * `requiresAuth()`, except the middleware's own routes (login, callback, logout, back-channel
   * logout): a page request is sent to log in, a JSON request gets `401`. Mount public routes
   * before the middleware, or leave this off and guard routes one by one. @default false
   */
  authRequired?: boolean
  /**
   * Give an unauthenticated browser one silent login (`prompt=none`) per session at its first
   * page request (a GET navigation asking for HTML): a user already logged in at the AS comes back
   * logged in, without a login page. When the AS answers `login_required`,
   * `interaction_required`, `consent_required` or `account_selection_required`, the browser
   * returns to the page it asked for, unauthenticated, and no other attempt is made in that
   * session (a logout keeps it so). @default false
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (prompt=none)
   */
  attemptSilentLogin?: boolean
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
  logoutReturnTo?: string
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
   * Logout ends the local session only (revoking the refresh token when `revokeOnLogout`) and
   * redirects to `logoutReturnTo`, never to the AS's end_session_endpoint: the user stays logged
   * in at the AS. A logout call may choose otherwise (`localLogout` of its options). @default false
   */
  localLogout?: boolean
  /**
   * At login, when the ID token lacks the claims of a scope asked for (`profile`, `email`,
   * `address`, `phone`) and the AS has a `userinfo_endpoint`, fetch them from UserInfo (its
   * `sub` must be the ID token's) and keep them with the user. The ID token's claims always win;
   * `iss`, `aud`, `acr`, `amr`, `auth_time`, `sid` and the other protocol claims never come from
   * UserInfo. A failed UserInfo request fails the login. @default false
   * @see https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
   */
  fetchUserInfoAtLogin?: boolean
  /**
   * The claims kept out of `req.auth.user` (they stay in `req.auth.idTokenClaims`): replaces the
   * default list. `sub` cannot be filtered. `[]` keeps every claim in `user`.
   * @default {@link DEFAULT_IDENTITY_CLAIM_FILTER}: `iss`, `aud`, `exp`, `iat`, `nbf`, `jti`,
   *   `nonce`, `azp`, `auth_time`, `acr`, `amr`, `at_hash`, `c_hash`, `s_hash`, `sid`
   */
  identityClaimFilter?: readonly string[]
  /**
   * Called at each login once the callback is validated, before the session is written: return
   * claims to keep with the user (enrich), or throw to refuse the login (`ERR_LOGIN_REFUSED`,
   * 403, no session). See {@link AfterCallback}.
   */
  afterCallback?: AfterCallback
  logger?: AuthLogger
}

/** The frozen, validated configuration ({@link resolveOptions}), read by every flow. */
export interface ResolvedOptions {
  readonly getClient: () => Promise<Client>
  readonly cipher: TokenCipher
  readonly routes: Readonly<Required<AuthRoutes>>
  readonly authRequired: boolean
  readonly attemptSilentLogin: boolean
  readonly scope: string | undefined
  readonly resource: string | string[] | undefined
  readonly audience: string | undefined
  readonly authorizationParams: Readonly<Record<string, string>> | undefined
  readonly responseMode: 'query' | 'form_post' | undefined
  readonly defaultReturnTo: string
  readonly logoutReturnTo: string
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
  readonly localLogout: boolean
  readonly fetchUserInfoAtLogin: boolean
  readonly identityClaimFilter: ReadonlySet<string>
  readonly afterCallback: AfterCallback | undefined
  readonly logger: AuthLogger | undefined
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object'

/** A path of this app (`/`-rooted): the one validator the shared ones have no use for. */
function path(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/'))
    fail(`"${name}" must be a path starting with "/"`)
  return value
}

/**
 * Checks that the client's `redirectUri` leads to this router's callback route. Routes are
 * relative to where the router is mounted, so the path must end with `routes.callback` (and
 * equal it when the router is mounted at the root).
 */
function redirectMismatch(client: Client, callback: string): string | undefined {
  let pathname: string
  try {
    pathname = new URL(client.redirectUri).pathname
  } catch {
    return `the client's "redirectUri" is not a URL`
  }
  if (pathname === callback || pathname.endsWith(callback)) return undefined
  return (
    `the path of the client's "redirectUri" (${pathname}) is not "routes.callback" (${callback}): ` +
    `the authorization server would send the login back to a route auth() does not serve; ` +
    `set "routes.callback" to ${JSON.stringify(pathname)} or change "redirectUri"`
  )
}

function clientGetter(client: unknown, callback: string): () => Promise<Client> {
  if (typeof client === 'function') {
    const factory = client as () => Promise<Client>
    const create = async (): Promise<Client> => {
      let created: Client
      try {
        created = await factory()
      } catch (err) {
        // A TypeError from createClient() is a misconfiguration (a missing client id, an http
        // issuer that is not loopback, ...): a 500 naming it, not "the AS is unavailable".
        if (err instanceof TypeError && !isCodegrantError(err) && !isFetchFailure(err)) {
          throw new AuthError(
            'ERR_CONFIG_INVALID',
            `auth(): the "client" function failed: ${err.message}`,
            { cause: err },
          )
        }
        throw err
      }
      if (!isClient(created)) {
        throw new AuthError(
          'ERR_CONFIG_INVALID',
          'auth(): the "client" function must return a Client from createClient()',
        )
      }
      const mismatch = redirectMismatch(created, callback)
      if (mismatch !== undefined) {
        throw new AuthError('ERR_CONFIG_INVALID', `auth(): ${mismatch}`)
      }
      return created
    }
    let pending: Promise<Client> | undefined
    return () => {
      pending ??= create().catch((err: unknown) => {
        pending = undefined
        throw err
      })
      return pending
    }
  }
  if (isClient(client)) {
    const mismatch = redirectMismatch(client, callback)
    if (mismatch !== undefined) fail(mismatch)
    const ready = Promise.resolve(client)
    return () => ready
  }
  fail('"client" must be a Client from createClient() or a function returning one')
}

const isClient = (v: unknown): v is Client =>
  isObject(v) &&
  typeof v.issuer === 'string' &&
  typeof v.clientId === 'string' &&
  typeof v.redirectUri === 'string'

// undici's fetch() rejects with a TypeError("fetch failed") when the network fails.
const isFetchFailure = (err: TypeError): boolean => err.message === 'fetch failed'

// Which secret "secret" is: express-session has one by the same name.
const SECRET_IS =
  "this is auth()'s token encryption secret, not express-session's; e.g. process.env.TOKEN_SECRET"

// Every option of auth(): anything else is refused, so that a misspelt option (a scope check,
// a route) cannot silently fall back to a default.
const OPTION_KEYS = [
  'client',
  'secret',
  'routes',
  'authRequired',
  'attemptSilentLogin',
  'scope',
  'resource',
  'audience',
  'authorizationParams',
  'responseMode',
  'defaultReturnTo',
  'logoutReturnTo',
  'postLogoutRedirectUri',
  'maxTransactions',
  'refreshMargin',
  'absoluteDuration',
  'sessionKey',
  'touchAfter',
  'lock',
  'sessionIndex',
  'revokeOnLogout',
  'localLogout',
  'fetchUserInfoAtLogin',
  'identityClaimFilter',
  'afterCallback',
  'logger',
] as const satisfies readonly (keyof AuthOptions)[]

const ROUTE_KEYS = [
  'login',
  'callback',
  'logout',
  'backchannelLogout',
] as const satisfies readonly (keyof AuthRoutes)[]

// The lists above name every option: a new option left out of them fails to compile here.
type Unlisted = Exclude<keyof AuthOptions, (typeof OPTION_KEYS)[number]>
type UnlistedRoute = Exclude<keyof AuthRoutes, (typeof ROUTE_KEYS)[number]>
const everyOptionListed: [Unlisted, UnlistedRoute] extends [never, never] ? true : never = true
void everyOptionListed

// Options of other libraries that users reach for, and what does their job here.
const OPTION_HINTS: Readonly<Record<string, string>> = {
  scopes: 'did you mean "scope" (one space-separated string)?',
  postLogoutRedirect: 'renamed to "logoutReturnTo"',
  requiredScopes:
    'auth() does not check scopes: guard the routes with claimCheck() / requiresAuth(), or an API with @codegrant/resource-server',
  issuerBaseURL: 'the issuer belongs in createClient({ issuer }) ("client")',
  baseURL: 'the redirect URI belongs in createClient({ redirectUri }) ("client")',
  clientID: 'the client id belongs in createClient({ clientId }) ("client")',
  clientId: 'the client id belongs in createClient({ clientId }) ("client")',
  clientSecret: 'the client secret belongs in createClient({ clientSecret }) ("client")',
  issuer: 'the issuer belongs in createClient({ issuer }) ("client")',
  redirectUri: 'the redirect URI belongs in createClient({ redirectUri }) ("client")',
}

const ROUTE_HINTS: Readonly<Record<string, string>> = {
  postLogoutRedirect:
    'express-openid-connect\'s "routes.postLogoutRedirect" is the "logoutReturnTo" option of auth() here',
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), for "did you mean" on
 * misspelt option names (`rotues` is one edit from `routes`).
 */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const row = d[i]!
      const above = d[i - 1]!
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
      }
    }
  }
  return d[a.length]![b.length]!
}

/** The known key closest to `key`, when close enough to be a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined
}

function refuseUnknown(
  value: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  hints: Readonly<Record<string, string>>,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const name = JSON.stringify(`${prefix}${key}`.slice(0, 80))
    const near = closest(key, known)
    const hint = Object.hasOwn(hints, key)
      ? hints[key]
      : near !== undefined
        ? `did you mean "${prefix}${near}"?`
        : `known: ${known.map((k) => `"${prefix}${k}"`).join(', ')}`
    throw new TypeError(`unknown option ${name}: ${hint}`)
  }
}

function claimFilter(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set(DEFAULT_IDENTITY_CLAIM_FILTER)
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    fail('"identityClaimFilter" must be an array of claim names')
  }
  if (value.includes('sub')) {
    fail('"identityClaimFilter" may not contain "sub" (the user\'s identifier)')
  }
  return new Set(value as readonly string[])
}

/**
 * Validates the login middleware's options once, applies defaults and freezes the result.
 * Unknown options are refused with a "did you mean".
 *
 * @param factory the function the options were given to, named in every message (an adapter
 *   other than `auth()` passes its own name)
 * @throws TypeError for an invalid or unknown option, naming it and the factory
 *   (`auth(): "secret" ...`).
 */
export function resolveOptions(options: AuthOptions, factory = 'auth()'): ResolvedOptions {
  try {
    return resolve(options)
  } catch (err) {
    // Every misuse found here is a TypeError naming the option; the factory says whose option.
    if (err instanceof TypeError) throw new TypeError(`${factory}: ${err.message}`, { cause: err })
    throw err
  }
}

function resolve(options: AuthOptions): ResolvedOptions {
  if (!isObject(options)) fail('"options" must be an object')
  refuseUnknown(options, OPTION_KEYS, '', OPTION_HINTS)
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret
  if (!Array.isArray(secrets) || secrets.length === 0) {
    fail(`"secret" must be a string or a non-empty array of strings (${SECRET_IS})`)
  }
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < 32) {
      fail(`"secret" must be at least 32 characters long (${SECRET_IS})`)
    }
  }
  const routes = options.routes ?? {}
  if (!isObject(routes)) fail('"routes" must be an object')
  refuseUnknown(routes, ROUTE_KEYS, 'routes.', ROUTE_HINTS)
  const backchannel = routes.backchannelLogout
  const responseMode = options.responseMode
  if (responseMode !== undefined && responseMode !== 'query' && responseMode !== 'form_post') {
    fail('"responseMode" must be "query" or "form_post"')
  }
  const resource = options.resource
  if (
    resource !== undefined &&
    typeof resource !== 'string' &&
    !(Array.isArray(resource) && resource.every((r) => typeof r === 'string'))
  ) {
    fail('"resource" must be a string or an array of strings')
  }
  const params = options.authorizationParams
  if (
    params !== undefined &&
    (!isObject(params) || !Object.values(params).every((v) => typeof v === 'string'))
  ) {
    fail('"authorizationParams" must be an object of strings')
  }
  const absolute = options.absoluteDuration
  if (absolute !== undefined && absolute !== false)
    numberOption(absolute, 'absoluteDuration', 0, { min: 1 })
  const lock = options.lock
  if (lock !== undefined && (!isObject(lock) || typeof lock.acquire !== 'function')) {
    fail('"lock" must be a SessionLock')
  }
  const index = options.sessionIndex
  if (
    index !== undefined &&
    (!isObject(index) || typeof index.find !== 'function' || typeof index.forget !== 'function')
  ) {
    fail('"sessionIndex" must be a SessionIndex')
  }
  const logger = options.logger
  if (logger !== undefined && (!isObject(logger) || typeof logger.warn !== 'function')) {
    fail('"logger" must have a warn() method')
  }
  if (options.afterCallback !== undefined && typeof options.afterCallback !== 'function') {
    fail('"afterCallback" must be a function')
  }
  const localLock = createMemoryLock()
  const resolvedRoutes = Object.freeze({
    login: routes.login === false ? false : path(routes.login, 'routes.login', '/login'),
    callback: path(routes.callback, 'routes.callback', '/callback'),
    logout: routes.logout === false ? false : path(routes.logout, 'routes.logout', '/logout'),
    backchannelLogout:
      backchannel === false
        ? false
        : path(backchannel, 'routes.backchannelLogout', '/backchannel-logout'),
  })

  return Object.freeze({
    getClient: clientGetter(options.client, resolvedRoutes.callback),
    cipher: createTokenCipher(secrets as readonly string[]),
    routes: resolvedRoutes,
    authRequired: booleanOption(options.authRequired, 'authRequired', false),
    attemptSilentLogin: booleanOption(options.attemptSilentLogin, 'attemptSilentLogin', false),
    scope: optionalString(options.scope, 'scope'),
    resource,
    audience: optionalString(options.audience, 'audience'),
    authorizationParams: params === undefined ? undefined : Object.freeze({ ...params }),
    responseMode,
    defaultReturnTo: path(options.defaultReturnTo, 'defaultReturnTo', '/'),
    logoutReturnTo: path(options.logoutReturnTo, 'logoutReturnTo', '/'),
    postLogoutRedirectUri: optionalString(options.postLogoutRedirectUri, 'postLogoutRedirectUri'),
    maxTransactions: numberOption(options.maxTransactions, 'maxTransactions', 10, {
      min: 1,
      integer: true,
    }),
    refreshMargin: numberOption(options.refreshMargin, 'refreshMargin', 60, { min: 0 }),
    absoluteDuration: absolute === undefined ? 604_800 : absolute,
    sessionKey: optionalString(options.sessionKey, 'sessionKey') ?? 'codegrant',
    touchAfter: numberOption(options.touchAfter, 'touchAfter', 60, { min: 0 }),
    lock: lock ?? localLock,
    localLock,
    sessionIndex: index ?? createMemorySessionIndex(),
    revokeOnLogout: booleanOption(options.revokeOnLogout, 'revokeOnLogout', true),
    localLogout: booleanOption(options.localLogout, 'localLogout', false),
    fetchUserInfoAtLogin: booleanOption(
      options.fetchUserInfoAtLogin,
      'fetchUserInfoAtLogin',
      false,
    ),
    identityClaimFilter: claimFilter(options.identityClaimFilter),
    afterCallback: options.afterCallback,
    logger,
  })
}
