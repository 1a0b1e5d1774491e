import { buildWwwAuthenticate } from './www-authenticate.js'

/**
 * The stable codes of {@link ResourceServerError}. Switch on `err.code`, never on the message.
 * {@link ERROR_TABLE} gives each code's HTTP status and RFC 6750 `error` value; docs/error-codes.md
 * gives each code's meaning (a code shared with another codegrant package means the same there).
 */
export type ResourceServerErrorCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_INVALID_REQUEST'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ALGORITHM'
  | 'ERR_TOKEN_KEY_NOT_FOUND'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_TYPE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_CLAIM_INVALID'
  | 'ERR_TOKEN_INACTIVE'
  | 'ERR_TOKEN_BINDING'
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_DPOP_NONCE_REQUIRED'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_CLAIM_CHECK_FAILED'
  | 'ERR_INSUFFICIENT_USER_AUTHENTICATION'
  | 'ERR_DISCOVERY_FAILED'
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_INTROSPECTION_FAILED'
  | 'ERR_ISSUER_MISMATCH'
  | 'ERR_REPLAY_STORE_UNAVAILABLE'

/** How one error code is answered over HTTP. */
export interface ErrorTableEntry {
  /** The HTTP status code. */
  readonly status: number
  /**
   * The `error` value for the challenge and the JSON body; absent for a request without a token
   * (RFC 6750 §3.1). 5xx entries borrow `temporarily_unavailable` (RFC 6749 §4.1.2.1) for the body
   * and send no challenge.
   */
  readonly error: string | undefined
  /** The default `error_description`: short, public, never any internal detail. */
  readonly description: string
}

/**
 * The one table that maps each {@link ResourceServerErrorCode} to its HTTP status, RFC 6750
 * `error` and default description.
 *
 * | code | status | `error` |
 * | --- | --- | --- |
 * | `ERR_TOKEN_MISSING` | 401 | (none) |
 * | `ERR_INVALID_REQUEST` | 400 | `invalid_request` |
 * | `ERR_TOKEN_MALFORMED`, `ERR_TOKEN_ALGORITHM`, `ERR_TOKEN_KEY_NOT_FOUND`, `ERR_TOKEN_SIGNATURE`, `ERR_TOKEN_TYPE`, `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_NOT_YET_VALID`, `ERR_TOKEN_CLAIM_INVALID`, `ERR_TOKEN_INACTIVE`, `ERR_TOKEN_BINDING` | 401 | `invalid_token` |
 * | `ERR_DPOP_PROOF_INVALID` | 401 | `invalid_dpop_proof` |
 * | `ERR_DPOP_NONCE_REQUIRED` | 401 | `use_dpop_nonce` |
 * | `ERR_INSUFFICIENT_SCOPE`, `ERR_CLAIM_CHECK_FAILED` | 403 | `insufficient_scope` |
 * | `ERR_INSUFFICIENT_USER_AUTHENTICATION` | 401 | `insufficient_user_authentication` |
 * | `ERR_DISCOVERY_FAILED`, `ERR_ISSUER_MISMATCH`, `ERR_KEYS_UNAVAILABLE`, `ERR_INTROSPECTION_FAILED`, `ERR_REPLAY_STORE_UNAVAILABLE` | 503 | `temporarily_unavailable` |
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1 (error codes)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1 (DPoP errors)
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3 (step-up)
 */
export const ERROR_TABLE: Readonly<Record<ResourceServerErrorCode, ErrorTableEntry>> =
  Object.freeze({
    ERR_TOKEN_MISSING: entry(401, undefined, 'An access token is required'),
    ERR_INVALID_REQUEST: entry(400, 'invalid_request', 'The request is malformed'),
    ERR_TOKEN_MALFORMED: entry(401, 'invalid_token', 'The access token is malformed'),
    ERR_TOKEN_ALGORITHM: entry(401, 'invalid_token', 'The access token algorithm is not accepted'),
    ERR_TOKEN_KEY_NOT_FOUND: entry(401, 'invalid_token', 'The access token signing key is unknown'),
    ERR_TOKEN_SIGNATURE: entry(401, 'invalid_token', 'The access token signature is invalid'),
    ERR_TOKEN_TYPE: entry(401, 'invalid_token', 'The token is not an access token'),
    ERR_TOKEN_EXPIRED: entry(401, 'invalid_token', 'The access token expired'),
    ERR_TOKEN_NOT_YET_VALID: entry(401, 'invalid_token', 'The access token is not yet valid'),
    ERR_TOKEN_CLAIM_INVALID: entry(401, 'invalid_token', 'The access token claims are invalid'),
    ERR_TOKEN_INACTIVE: entry(401, 'invalid_token', 'The access token is not active'),
    ERR_TOKEN_BINDING: entry(401, 'invalid_token', 'The access token binding check failed'),
    ERR_DPOP_PROOF_INVALID: entry(401, 'invalid_dpop_proof', 'The DPoP proof is invalid'),
    ERR_DPOP_NONCE_REQUIRED: entry(401, 'use_dpop_nonce', 'A DPoP nonce is required'),
    ERR_INSUFFICIENT_SCOPE: entry(403, 'insufficient_scope', 'The access token lacks a scope'),
    ERR_CLAIM_CHECK_FAILED: entry(403, 'insufficient_scope', 'The access token is not allowed'),
    ERR_INSUFFICIENT_USER_AUTHENTICATION: entry(
      401,
      'insufficient_user_authentication',
      'A stronger or more recent user authentication is required',
    ),
    ERR_DISCOVERY_FAILED: entry(503, 'temporarily_unavailable', 'Token validation is unavailable'),
    ERR_KEYS_UNAVAILABLE: entry(503, 'temporarily_unavailable', 'Token validation is unavailable'),
    ERR_INTROSPECTION_FAILED: entry(
      503,
      'temporarily_unavailable',
      'Token validation is unavailable',
    ),
    // A configuration error (the discovery document names another issuer): the cause and the
    // warning say expected vs found; requests are refused until the configuration agrees.
    ERR_ISSUER_MISMATCH: entry(503, 'temporarily_unavailable', 'Token validation is unavailable'),
    ERR_REPLAY_STORE_UNAVAILABLE: entry(
      503,
      'temporarily_unavailable',
      'Token validation is unavailable',
    ),
  })

function entry(status: number, error: string | undefined, description: string): ErrorTableEntry {
  return Object.freeze({ status, error, description })
}

/** Extra challenge details for a {@link ResourceServerError}. */
export interface ChallengeDetails {
  /** `Bearer` (default) or `DPoP`: the scheme the client used or must use. */
  scheme?: 'Bearer' | 'DPoP'
  /** The realm (sent only in the challenge to a request without a token). */
  realm?: string
  /** The scopes the resource needs (`insufficient_scope`). */
  scope?: string
  /** RFC 9470 `acr_values` (space-separated). */
  acrValues?: string
  /** RFC 9470 `max_age` in seconds. */
  maxAge?: number
  /** RFC 9449 `algs`: the DPoP proof algorithms accepted (space-separated). */
  algs?: string
  /** RFC 9449 §8: a fresh nonce, sent in the `DPoP-Nonce` header. */
  dpopNonce?: string
  /** RFC 9728 §5.1: the URL of the protected resource metadata. */
  resourceMetadata?: string
}

/**
 * The one operational error of `@codegrant/resource-server`: every rejected request ends in it.
 *
 * It carries what an HTTP response needs: {@link status}, the RFC 6750 {@link error} code, a
 * public {@link description}, and {@link headers} (`WWW-Authenticate`, and `DPoP-Nonce` when
 * one is due). Express's default error handler honours `status` and `headers`. The message is
 * the description: it never contains a token, a secret or an internal detail; the underlying
 * error, if any, is kept as `cause`. Misuse (a bad option) is a `TypeError` instead.
 */
export class ResourceServerError extends Error {
  override readonly name = 'ResourceServerError'
  /** A stable code from {@link ResourceServerErrorCode}. */
  readonly code: ResourceServerErrorCode
  /** The HTTP status to answer with. */
  readonly status: number
  /** The same as {@link status} (for frameworks that read `statusCode`). */
  readonly statusCode: number
  /** The RFC 6750 `error` code; absent when the request carried no token. */
  readonly error: string | undefined
  /** A short public description (the `error_description`). */
  readonly description: string
  /** Response headers: `WWW-Authenticate` (for 400/401/403) and `DPoP-Nonce` when due. */
  readonly headers: Readonly<Record<string, string>>
  /** Tells http-errors-style handlers that the message is safe to show. */
  readonly expose = true
  /** The challenge details the error was built with (to add `resource_metadata` later). */
  readonly challenge: Readonly<ChallengeDetails>

  constructor(
    code: ResourceServerErrorCode,
    options: { description?: string; cause?: unknown } & ChallengeDetails = {},
  ) {
    const row = ERROR_TABLE[code]
    const description = options.description ?? row.description
    super(description, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = row.status
    this.statusCode = row.status
    this.error = row.error
    this.description = description
    this.challenge = Object.freeze({
      scheme: options.scheme,
      realm: options.realm,
      scope: options.scope,
      acrValues: options.acrValues,
      maxAge: options.maxAge,
      algs: options.algs,
      dpopNonce: options.dpopNonce,
      resourceMetadata: options.resourceMetadata,
    })
    const headers: Record<string, string> = {}
    if (row.status < 500) {
      headers['www-authenticate'] =
        row.error === undefined
          ? buildWwwAuthenticate(options.scheme ?? 'Bearer', {
              realm: options.realm,
              algs: options.algs,
              resource_metadata: options.resourceMetadata,
            })
          : buildWwwAuthenticate(options.scheme ?? 'Bearer', {
              error: row.error,
              // The scope attribute already says what is missing: keep the challenge exactly
              // `error="insufficient_scope", scope="..."` (the description is in the body).
              error_description: code === 'ERR_INSUFFICIENT_SCOPE' ? undefined : description,
              scope: options.scope,
              acr_values: options.acrValues,
              max_age: options.maxAge === undefined ? undefined : String(options.maxAge),
              algs: options.algs,
              resource_metadata: options.resourceMetadata,
            })
    }
    if (options.dpopNonce !== undefined) headers['dpop-nonce'] = options.dpopNonce
    this.headers = Object.freeze(headers)
  }
}

/**
 * The same refusal with `resource_metadata` in its challenge (RFC 9728 §5.1). Returns `err`
 * itself when it has no challenge (5xx) or already names it.
 *
 * @internal
 */
export function withResourceMetadata(
  err: ResourceServerError,
  url: string,
  overrides: ChallengeDetails = {},
): ResourceServerError {
  if (err.status >= 500) return err
  if (err.challenge.resourceMetadata === url && Object.keys(overrides).length === 0) return err
  return new ResourceServerError(err.code, {
    ...err.challenge,
    ...overrides,
    description: err.description,
    cause: err.cause,
    resourceMetadata: url,
  })
}

/** The pieces of an HTTP error response for a {@link ResourceServerError}. */
export interface ErrorResponse {
  status: number
  headers: Record<string, string>
  body: { error: string; error_description: string }
}

/**
 * Turns a {@link ResourceServerError} into the RFC 6750 response: its status, its headers and a
 * JSON body `{ error, error_description }` with nothing internal in it. For frameworks other than
 * Express.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function toErrorResponse(err: ResourceServerError): ErrorResponse {
  return {
    status: err.status,
    headers: { ...err.headers, 'cache-control': 'no-store' },
    body: { error: err.error ?? 'unauthorized', error_description: err.description },
  }
}
