/**
 * The stable codes of {@link AuthError}, each with its HTTP status. Switch on `err.code`, never
 * on the message. A code shared with another codegrant package means the same there
 * (docs/error-codes.md).
 *
 * | code | status | meaning |
 * | --- | --- | --- |
 * | `ERR_SESSION_REQUIRED` | 500 | the session middleware (express-session, @fastify/session) is not mounted before the login middleware (`auth()`) |
 * | `ERR_CONFIG_INVALID` | 500 | the `auth()` configuration is wrong in a way found only at first use (the `client` function threw a `TypeError`, or its `redirectUri` does not lead to `routes.callback`): the message names it |
 * | `ERR_SESSION_COOKIE_MISSING` | 400 | the callback arrived without the session cookie the login was started with: the message lists the likely causes |
 * | `ERR_STATE_MISSING` | 400 | the callback carries no `state` |
 * | `ERR_STATE_UNKNOWN` | 400 | the session came back but has no login transaction for this `state` (completed, expired, dropped or another browser), or its session is gone from the store |
 * | `ERR_TRANSACTION_EXPIRED` | 400 | the login transaction is older than its lifetime (`transactionTtl`) |
 * | `ERR_ACCESS_DENIED` | 403 | the AS answered `error=access_denied` (the user refused) |
 * | `ERR_LOGIN_FAILED` | 400 | the AS returned an error, or the callback, token response or ID token was invalid |
 * | `ERR_STEP_UP_FAILED` | 403 | a step-up login came back without the required `acr` |
 * | `ERR_LOGIN_REFUSED` | 403 | the application's `afterCallback` refused the login (threw): no session was established |
 * | `ERR_UNAUTHENTICATED` | 401 | no logged-in user |
 * | `ERR_FORBIDDEN` | 403 | a logged-in user lacks a required claim |
 * | `ERR_SESSION_ENDED` | 401 | the grant is gone (refresh `invalid_grant`, logout elsewhere): the session was ended |
 * | `ERR_REFRESH_TOKEN_MISSING` | 401 | the access token expired and there is no refresh token to renew it (the message says to add `offline_access`) |
 * | `ERR_USERINFO_REFUSED` | 401 | the UserInfo endpoint refused the access token (a 4xx such as `invalid_token`) |
 * | `ERR_CLIENT_AUTH_REFUSED` | 500 | the AS refused the client authentication (`invalid_client`, or 401/403 without an OAuth error at a client-authenticated endpoint): a server-side misconfiguration, not the user's fault; the message says what to check |
 * | `ERR_AS_UNAVAILABLE` | 502 | the authorization server could not be reached or answered unexpectedly |
 * | `ERR_STORE_UNAVAILABLE` | 503 | the session store, lock or session index failed (e.g. Redis down) |
 * | `ERR_SESSION_TOO_LARGE` | 500 | a session kept in a cookie (@fastify/secure-session) would not fit in one cookie (4096 bytes): nothing was written, or the login was ended |
 */
export type AuthErrorCode =
  | 'ERR_SESSION_REQUIRED'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_SESSION_COOKIE_MISSING'
  | 'ERR_STATE_MISSING'
  | 'ERR_STATE_UNKNOWN'
  | 'ERR_TRANSACTION_EXPIRED'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_LOGIN_FAILED'
  | 'ERR_STEP_UP_FAILED'
  | 'ERR_LOGIN_REFUSED'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_SESSION_ENDED'
  | 'ERR_REFRESH_TOKEN_MISSING'
  | 'ERR_USERINFO_REFUSED'
  | 'ERR_CLIENT_AUTH_REFUSED'
  | 'ERR_AS_UNAVAILABLE'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_SESSION_TOO_LARGE'

const STATUS: Readonly<Record<AuthErrorCode, number>> = Object.freeze({
  ERR_SESSION_REQUIRED: 500,
  ERR_CONFIG_INVALID: 500,
  ERR_SESSION_COOKIE_MISSING: 400,
  ERR_STATE_MISSING: 400,
  ERR_STATE_UNKNOWN: 400,
  ERR_TRANSACTION_EXPIRED: 400,
  ERR_ACCESS_DENIED: 403,
  ERR_LOGIN_FAILED: 400,
  ERR_STEP_UP_FAILED: 403,
  ERR_LOGIN_REFUSED: 403,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_SESSION_ENDED: 401,
  ERR_REFRESH_TOKEN_MISSING: 401,
  ERR_USERINFO_REFUSED: 401,
  ERR_CLIENT_AUTH_REFUSED: 500,
  ERR_AS_UNAVAILABLE: 502,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_SESSION_TOO_LARGE: 500,
})

/**
 * The one operational error of codegrant's session packages (`@codegrant/express` and every
 * adapter on `@codegrant/session`). It reaches the app's error handler with `status` /
 * `statusCode` set, so a framework's default handler (Express's, Fastify's) answers with that
 * status. Messages never contain tokens, codes or secrets; the underlying error (usually a
 * `CodegrantError` from `@codegrant/core`) is kept as `cause`.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError'
  /** A stable code from {@link AuthErrorCode}. */
  readonly code: AuthErrorCode
  /** The HTTP status to answer with (4xx for the client's fault, 5xx otherwise). */
  readonly status: number
  /** Same as `status`, for error handlers that read `statusCode`. */
  readonly statusCode: number
  /** Tells default error handlers (Express's, http-errors') that the message is safe to show. */
  readonly expose: boolean

  constructor(code: AuthErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = STATUS[code]
    this.statusCode = this.status
    this.expose = this.status < 500 || this.status === 503
  }
}

/** Narrows an unknown value to an {@link AuthError}, optionally of one code. */
export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return value instanceof AuthError && (code === undefined || value.code === code)
}
