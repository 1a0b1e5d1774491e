/**
 * The stable codes of {@link CodegrantError}. Switch on `err.code`, never on the message. A code
 * shared with another codegrant package means the same there (docs/error-codes.md).
 *
 * | code | meaning |
 * | --- | --- |
 * | `ERR_DISCOVERY_FAILED` | the issuer's metadata (discovery document) could not be fetched or parsed |
 * | `ERR_METADATA_INVALID` | metadata is unusable (issuer mismatch, insecure endpoint, missing endpoint) |
 * | `ERR_AUTHORIZATION_ERROR` | the AS redirected back with `error=` (see `error`, `error_description`) |
 * | `ERR_STATE_MISMATCH` | the callback `state` is missing or does not match the transaction |
 * | `ERR_ISS_MISMATCH` | the RFC 9207 `iss` parameter is wrong, or missing where required |
 * | `ERR_TRANSACTION_EXPIRED` | the login transaction is older than its lifetime (`transactionTtl`) |
 * | `ERR_CALLBACK_INVALID` | the callback carries no code, or is otherwise malformed |
 * | `ERR_TOKEN_ERROR` | the token endpoint (or PAR, revocation, introspection) answered 4xx with an OAuth error (see `error`) |
 * | `ERR_CLIENT_AUTH_REFUSED` | the AS refused the client authentication (`invalid_client`, or 401/403 without an OAuth error at a client-authenticated endpoint): a server-side misconfiguration, not the user's fault; the message says what to check |
 * | `ERR_INVALID_GRANT` | the token endpoint answered `invalid_grant` (refresh token revoked, expired or reused) |
 * | `ERR_RESPONSE_INVALID` | an endpoint answered with an unexpected status or a malformed body |
 * | `ERR_RESPONSE_TOO_LARGE` | a response body of the AS is larger than `maxResponseSize` (not read further) |
 * | `ERR_TIMEOUT` | a request to the AS took longer than the configured timeout |
 * | `ERR_NETWORK` | a request to the AS failed below HTTP (connection refused, TLS, DNS) |
 * | `ERR_ID_TOKEN_MISSING` | `openid` was requested but the token response has no `id_token` |
 * | `ERR_ID_TOKEN_INVALID` | the ID token failed validation (signature, alg, iss, aud, azp, exp, iat, nonce, auth_time, sub) |
 * | `ERR_TOKEN_TYPE_UNSUPPORTED` | the `token_type` is neither Bearer nor DPoP |
 * | `ERR_USERINFO_SUB_MISMATCH` | the userinfo `sub` differs from the ID token's |
 * | `ERR_LOGOUT_TOKEN_INVALID` | a back-channel logout token failed validation |
 * | `ERR_DPOP` | a DPoP proof could not be made or the server refused it |
 * | `ERR_UNSUPPORTED` | the AS does not offer what was asked (no revocation endpoint, no PAR, ...) |
 */
export type CodegrantErrorCode =
  | 'ERR_DISCOVERY_FAILED'
  | 'ERR_METADATA_INVALID'
  | 'ERR_AUTHORIZATION_ERROR'
  | 'ERR_STATE_MISMATCH'
  | 'ERR_ISS_MISMATCH'
  | 'ERR_TRANSACTION_EXPIRED'
  | 'ERR_CALLBACK_INVALID'
  | 'ERR_TOKEN_ERROR'
  | 'ERR_CLIENT_AUTH_REFUSED'
  | 'ERR_INVALID_GRANT'
  | 'ERR_RESPONSE_INVALID'
  | 'ERR_RESPONSE_TOO_LARGE'
  | 'ERR_TIMEOUT'
  | 'ERR_NETWORK'
  | 'ERR_ID_TOKEN_MISSING'
  | 'ERR_ID_TOKEN_INVALID'
  | 'ERR_TOKEN_TYPE_UNSUPPORTED'
  | 'ERR_USERINFO_SUB_MISMATCH'
  | 'ERR_LOGOUT_TOKEN_INVALID'
  | 'ERR_DPOP'
  | 'ERR_UNSUPPORTED'

/** Details an AS sent with an OAuth error response. Never contains a token or a secret. */
export interface OAuthErrorDetails {
  /** The OAuth `error` code, as the AS sent it (`access_denied`, `invalid_grant`, ...). */
  error?: string
  /** The AS's `error_description`, as sent. */
  error_description?: string
  /** The HTTP status of the AS response, when there was one. */
  status?: number
}

/**
 * The one operational error of `@codegrant/core`. Misuse (a bad option) is a `TypeError`
 * thrown at configuration time instead.
 *
 * Messages never contain tokens, codes, secrets or raw response bodies; the underlying
 * error (from openid-client, jose or fetch) is kept as `cause`.
 */
export class CodegrantError extends Error {
  override readonly name = 'CodegrantError'
  /** A stable code from {@link CodegrantErrorCode}. */
  readonly code: CodegrantErrorCode
  /** The OAuth `error` code, when the AS sent one. */
  readonly error?: string
  /** The AS's `error_description`, when it sent one. */
  readonly error_description?: string
  /** The HTTP status of the AS response, when there was one. */
  readonly status?: number

  constructor(
    code: CodegrantErrorCode,
    message: string,
    options: { cause?: unknown } & OAuthErrorDetails = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.error !== undefined) this.error = options.error
    if (options.error_description !== undefined) this.error_description = options.error_description
    if (options.status !== undefined) this.status = options.status
  }
}

/** Narrows an unknown value to a {@link CodegrantError}, optionally of one code. */
export function isCodegrantError(
  value: unknown,
  code?: CodegrantErrorCode,
): value is CodegrantError {
  return value instanceof CodegrantError && (code === undefined || value.code === code)
}
