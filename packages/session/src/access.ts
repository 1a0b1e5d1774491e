import type { IdTokenClaims } from '@codegrant/core'
import { numberOption } from '@codegrant/internal'
import type { AuthContext } from './context.js'
import { AuthError } from './errors.js'
import type { LoginParams } from './login.js'
import { NO_STORE, type JsonReply } from './outcome.js'
import { safeReturnTo } from './return-to.js'
import { nowSeconds } from './session-record.js'

/** Options of a route guard (`requiresAuth()`). */
export interface RequiresAuthOptions {
  /**
   * Step-up: the session's `acr` must be one of these; otherwise the user is sent to log in
   * again with `acr_values`.
   */
  acrValues?: string | readonly string[]
  /**
   * Step-up: the user must have authenticated at most this many seconds ago (`auth_time`);
   * otherwise the user is sent to log in again with `max_age`.
   */
  maxAge?: number
}

/** A guard's validated step-up requirement ({@link accessRule}). */
export interface AccessRule {
  /** The accepted `acr` values, if any. */
  readonly acr: readonly string[] | undefined
  /** The maximum age of the authentication in seconds, if any. */
  readonly maxAge: number | undefined
}

/** A test of the logged-in user's claims: `true` lets the request through. */
export type ClaimTest = (claims: IdTokenClaims) => boolean

/**
 * Validates a guard's options once (at route definition).
 *
 * @throws TypeError for an invalid option, naming it.
 */
export function accessRule(options: RequiresAuthOptions = {}): AccessRule {
  if (options === null || typeof options !== 'object')
    throw new TypeError('"options" must be an object')
  const acr =
    typeof options.acrValues === 'string'
      ? options.acrValues.split(' ').filter(Boolean)
      : options.acrValues
  if (
    acr !== undefined &&
    (!Array.isArray(acr) ||
      acr.length === 0 ||
      !acr.every((a) => typeof a === 'string' && a.length > 0))
  ) {
    throw new TypeError('"acrValues" must be a non-empty string or array of strings')
  }
  const maxAge =
    options.maxAge === undefined
      ? undefined
      : numberOption(options.maxAge, 'maxAge', 0, { min: 0, integer: true })
  return Object.freeze({ acr: acr === undefined ? undefined : Object.freeze([...acr]), maxAge })
}

/** Whether a rule asks for nothing beyond a logged-in user. */
export function isPlainRule(rule: AccessRule): boolean {
  return rule.acr === undefined && rule.maxAge === undefined
}

/** Whether the user's claims meet the rule's step-up requirement. */
function satisfied(rule: AccessRule, claims: IdTokenClaims): boolean {
  const { acr, maxAge } = rule
  if (acr !== undefined && (typeof claims.acr !== 'string' || !acr.includes(claims.acr)))
    return false
  if (maxAge !== undefined) {
    if (typeof claims.auth_time !== 'number' || nowSeconds() - claims.auth_time > maxAge)
      return false
  }
  return true
}

/**
 * A claim test: the claim `name` equals `value`.
 *
 * @throws TypeError when `name` is not a non-empty string.
 */
export function claimEqualsTest(name: string, value: string | number | boolean | null): ClaimTest {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('"name" must be a non-empty string')
  return (claims) => claims[name] === value
}

/**
 * A claim test: the claim `name` (an array, or a space-separated string like `scope`) includes
 * every one of `values`.
 *
 * @throws TypeError when `name` is not a non-empty string or `values` is empty.
 */
export function claimIncludesTest(
  name: string,
  ...values: Array<string | number | boolean>
): ClaimTest {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('"name" must be a non-empty string')
  if (values.length === 0) throw new TypeError('"values" must not be empty')
  return (claims) => {
    const claim = claims[name]
    const list: unknown[] = Array.isArray(claim)
      ? claim
      : typeof claim === 'string'
        ? claim.split(' ')
        : []
    return values.every((v) => list.includes(v))
  }
}

/** The request a guard decides about, as plain values. */
export interface AccessInput {
  /** The logged-in user's claims, `undefined` when nobody is logged in. */
  readonly user: IdTokenClaims | undefined
  /**
   * The login middleware the request went through and the path it is mounted at (for the login
   * redirect), or `undefined` when it went through none.
   */
  readonly router: { readonly ctx: AuthContext; readonly mountPath: string } | undefined
  /** The request method. */
  readonly method: string
  /** The request URL as received: path and query (`req.originalUrl`), the `returnTo` candidate. */
  readonly url: string
  /**
   * Whether the client prefers JSON to HTML: an XHR (`X-Requested-With: XMLHttpRequest`), or an
   * `Accept` header that ranks `application/json` above `text/html`. A request that is not GET or
   * HEAD always gets JSON.
   */
  readonly prefersJson: boolean
  /** A claim test the user must pass (403 otherwise); it may throw, and that propagates. */
  readonly check?: ClaimTest
}

/**
 * What a guard does with a request:
 * - `allow`: call the next handler;
 * - `redirect`: 302 to the login route with `returnTo` (a page request without a login);
 * - `reply`: a JSON answer (401 `unauthorized`, 403 `forbidden`, 401
 *   `insufficient_user_authentication`);
 * - `fail`: pass the `AuthError` to the app's error handler (`ERR_FORBIDDEN` for a page request,
 *   `ERR_SESSION_REQUIRED` when the login middleware is not mounted before the guard);
 * - `step-up`: start a login with these parameters ({@link startLogin}, with the router's
 *   mount path) and answer its redirect;
 * - `login`: the same for a page request without a login when the login route is turned off
 *   (`routes.login: false`).
 */
export type AccessDecision =
  | { readonly action: 'allow' }
  | { readonly action: 'redirect'; readonly redirectTo: string }
  | ({ readonly action: 'reply' } & JsonReply)
  | { readonly action: 'fail'; readonly error: AuthError }
  | { readonly action: 'step-up'; readonly login: LoginParams }
  | { readonly action: 'login'; readonly login: LoginParams }

function misuse(): AccessDecision {
  return {
    action: 'fail',
    error: new AuthError(
      'ERR_SESSION_REQUIRED',
      'the login middleware (auth() / fastifyAuth) must run before requiresAuth() and claim checks',
    ),
  }
}

function wantsJson(input: AccessInput): boolean {
  if (input.prefersJson) return true
  return input.method !== 'GET' && input.method !== 'HEAD'
}

function json(status: number, error: string, description: string): AccessDecision {
  return {
    action: 'reply',
    status,
    headers: NO_STORE,
    body: { error, error_description: description },
  }
}

/**
 * The guard decision (`requiresAuth()`, claim checks) for one request: a page request (a browser
 * asking for HTML) without a login is redirected to the login route with `returnTo` (or, with
 * the login route off, sent to the AS at once); a request
 * that wants JSON gets `401` JSON. A logged-in user who fails `check` gets `403` (JSON, or an
 * `ERR_FORBIDDEN` error for a page). With a step-up `rule`, a logged-in user whose session falls
 * short is sent to re-authenticate (JSON requests: `401` `insufficient_user_authentication`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470 (step-up authentication)
 */
export function decideAccess(rule: AccessRule, input: AccessInput): AccessDecision {
  const { user, router } = input
  if (user === undefined) {
    if (router === undefined) return misuse()
    if (wantsJson(input)) return json(401, 'unauthorized', 'Authentication required')
    const { config } = router.ctx
    const returnTo = safeReturnTo(input.url) ?? config.defaultReturnTo
    // No login route to send the browser to: start the login here.
    if (config.routes.login === false) return { action: 'login', login: { returnTo } }
    return {
      action: 'redirect',
      redirectTo: `${router.mountPath}${config.routes.login}?returnTo=${encodeURIComponent(returnTo)}`,
    }
  }
  if (input.check !== undefined && input.check(user) !== true) {
    if (wantsJson(input)) return json(403, 'forbidden', 'Insufficient claims')
    return {
      action: 'fail',
      error: new AuthError('ERR_FORBIDDEN', 'You are logged in but not allowed to see this page'),
    }
  }
  if (isPlainRule(rule)) return { action: 'allow' }
  if (router === undefined) return misuse()
  if (satisfied(rule, user)) return { action: 'allow' }
  if (wantsJson(input)) {
    return json(
      401,
      'insufficient_user_authentication',
      'A stronger or more recent authentication is required',
    )
  }
  const returnTo = safeReturnTo(input.url) ?? router.ctx.config.defaultReturnTo
  const acrValues = rule.acr?.join(' ')
  return {
    action: 'step-up',
    login: {
      returnTo,
      ...(acrValues !== undefined ? { acrValues } : {}),
      ...(rule.maxAge !== undefined ? { maxAge: rule.maxAge } : {}),
    },
  }
}
