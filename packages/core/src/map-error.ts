import { isSafeErrorCode } from '@codegrant/internal'
import {
  HTTP_REQUEST_FORBIDDEN,
  INVALID_RESPONSE,
  INVALID_SERVER_METADATA,
  JSON_ATTRIBUTE_COMPARISON,
  JWT_CLAIM_COMPARISON,
  JWT_TIMESTAMP_CHECK,
  KEY_SELECTION,
  MISSING_SERVER_METADATA,
  PARSE_ERROR,
  REQUEST_PROTOCOL_FORBIDDEN,
  RESPONSE_IS_NOT_CONFORM,
  RESPONSE_IS_NOT_JSON,
  UNSUPPORTED_OPERATION,
} from 'oauth4webapi'
import { CodegrantError, type CodegrantErrorCode } from './errors.js'
import type { ClientAuthMethod } from './options.js'

/** What {@link toCodegrantError} knows of the request that failed. */
export interface ErrorContext {
  /**
   * Set for requests that authenticate the client (token, PAR, revocation, introspection):
   * a 401/403 without an OAuth error body then means the client authentication was refused.
   */
  readonly clientAuthMethod?: ClientAuthMethod
}

/**
 * Turns anything openid-client, oauth4webapi, jose, fetch or a timeout throws into a
 * {@link CodegrantError} with a stable code. `context` names the operation for the message
 * (`'token request'`, `'discovery'`, ...). The original error is kept as `cause`; the message
 * is built from fixed phrases and library constants only, never from a response body, a token,
 * a code or a secret. A {@link CodegrantError} found anywhere in the cause chain (our fetch
 * wrapper throws `ERR_TIMEOUT` / `ERR_NETWORK`) is returned as is.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function toCodegrantError(
  err: unknown,
  context: string,
  request: ErrorContext = {},
): CodegrantError {
  const found = findInChain(err, (e) => e instanceof CodegrantError)
  if (found instanceof CodegrantError) return found

  const chain = causeChain(err)
  const named = (name: string) => chain.find((e) => e instanceof Error && e.name === name)

  const body = named('ResponseBodyError') as
    (Error & { error?: unknown; error_description?: unknown; status?: unknown }) | undefined
  if (body) {
    const status = typeof body.status === 'number' ? body.status : undefined
    const details = oauthDetails(body.error, body.error_description, status)
    if (details.error === 'invalid_client') {
      return clientAuthRefused(context, request, details, err)
    }
    // oauth4webapi reads an OAuth error body only for a 4xx: a 5xx is RESPONSE_IS_NOT_CONFORM below.
    const code: CodegrantErrorCode =
      details.error === 'invalid_grant' ? 'ERR_INVALID_GRANT' : 'ERR_TOKEN_ERROR'
    return new CodegrantError(
      code,
      `${context}: the authorization server answered ${describe(details)}`,
      {
        cause: err,
        ...details,
      },
    )
  }

  const authz = named('AuthorizationResponseError') as
    (Error & { error?: unknown; error_description?: unknown }) | undefined
  if (authz) {
    const details = oauthDetails(authz.error, authz.error_description, undefined)
    return new CodegrantError(
      'ERR_AUTHORIZATION_ERROR',
      `${context}: the authorization server answered ${describe(details)}`,
      { cause: err, ...details },
    )
  }

  const challenge = named('WWWAuthenticateChallengeError') as
    (Error & { status?: unknown; cause?: unknown }) | undefined
  if (challenge) {
    const status = typeof challenge.status === 'number' ? challenge.status : undefined
    const first = Array.isArray(challenge.cause)
      ? (challenge.cause[0] as { scheme?: unknown; parameters?: Record<string, unknown> })
      : undefined
    const details = oauthDetails(
      first?.parameters?.error,
      first?.parameters?.error_description,
      status,
    )
    if (
      details.error === 'invalid_client' ||
      (request.clientAuthMethod !== undefined && details.error === undefined && status === 401)
    ) {
      return clientAuthRefused(context, request, details, err)
    }
    const code: CodegrantErrorCode =
      details.error === 'use_dpop_nonce' || details.error === 'invalid_dpop_proof'
        ? 'ERR_DPOP'
        : details.error === 'invalid_grant'
          ? 'ERR_INVALID_GRANT'
          : 'ERR_TOKEN_ERROR'
    return new CodegrantError(
      code,
      `${context}: the authorization server answered ${describe(details)}`,
      {
        cause: err,
        ...details,
      },
    )
  }

  if (
    chain.some((e) => e instanceof Error && e.name === 'TimeoutError') ||
    hasCode(chain, 'OAUTH_TIMEOUT')
  ) {
    return new CodegrantError(
      'ERR_TIMEOUT',
      `${context}: the authorization server did not answer in time`,
      {
        cause: err,
      },
    )
  }
  if (
    chain.some((e) => e instanceof Error && e.name === 'AbortError') ||
    hasCode(chain, 'OAUTH_ABORT')
  ) {
    return new CodegrantError('ERR_NETWORK', `${context}: the request was aborted`, { cause: err })
  }

  // The innermost oauth4webapi error carries the precise (constant) reason.
  const ope = [...chain]
    .reverse()
    .find(
      (e): e is Error & { code?: unknown } =>
        e instanceof Error &&
        (e.name === 'OperationProcessingError' || e.name === 'UnsupportedOperationError'),
    )
  const code = typeof ope?.code === 'string' ? ope.code : codeOf(chain)
  const reason = ope?.message ?? ''
  const status = statusOf(chain)
  const withStatus = status === undefined ? {} : { status }

  if (
    request.clientAuthMethod !== undefined &&
    (status === 401 || status === 403) &&
    (code === RESPONSE_IS_NOT_CONFORM || code === RESPONSE_IS_NOT_JSON || code === PARSE_ERROR)
  ) {
    // 401/403 without an OAuth error body where the client authenticates: Glewlwyd answers a
    // refused client assertion with 403 and an empty body.
    return clientAuthRefused(context, request, withStatus, err)
  }
  switch (code) {
    case HTTP_REQUEST_FORBIDDEN:
    case REQUEST_PROTOCOL_FORBIDDEN:
      return new CodegrantError(
        'ERR_METADATA_INVALID',
        `${context}: refused a non-https endpoint`,
        {
          cause: err,
        },
      )
    case MISSING_SERVER_METADATA:
    case INVALID_SERVER_METADATA:
      return new CodegrantError(
        'ERR_METADATA_INVALID',
        `${context}: ${reason || 'unusable metadata'}`,
        {
          cause: err,
        },
      )
    case RESPONSE_IS_NOT_CONFORM:
      return new CodegrantError(
        'ERR_RESPONSE_INVALID',
        `${context}: unexpected HTTP status${status === undefined ? '' : ` ${status}`}`,
        { cause: err, ...withStatus },
      )
    case RESPONSE_IS_NOT_JSON:
    case PARSE_ERROR:
      return new CodegrantError(
        'ERR_RESPONSE_INVALID',
        `${context}: the response is not valid JSON`,
        {
          cause: err,
          ...withStatus,
        },
      )
    case JSON_ATTRIBUTE_COMPARISON: {
      const attribute = attributeOf(chain)
      if (attribute === 'sub') {
        return new CodegrantError(
          'ERR_USERINFO_SUB_MISMATCH',
          `${context}: the "sub" differs from the ID token's`,
          { cause: err },
        )
      }
      if (attribute === 'issuer') {
        const { expected, found } = issuersOf(chain)
        return new CodegrantError(
          'ERR_METADATA_INVALID',
          `${context}: the metadata "issuer" does not match the expected issuer: expected ${expected}, found ${found} (set "issuer" to the value the AS states, exactly)`,
          { cause: err },
        )
      }
      return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: ${reason}`, { cause: err })
    }
    case UNSUPPORTED_OPERATION:
      switch (refine(code, ope?.cause)) {
        case 'token_type':
          return new CodegrantError(
            'ERR_TOKEN_TYPE_UNSUPPORTED',
            `${context}: the token_type is neither Bearer nor DPoP`,
            { cause: err },
          )
        case 'jwt':
          return idTokenRefused(context, reason, err)
        default:
          return new CodegrantError(
            'ERR_UNSUPPORTED',
            `${context}: ${reason || 'unsupported operation'}`,
            { cause: err },
          )
      }
    case JWT_CLAIM_COMPARISON:
    case JWT_TIMESTAMP_CHECK:
    case KEY_SELECTION:
      return idTokenRefused(context, reason, err)
    case INVALID_RESPONSE:
      switch (refine(code, ope?.cause)) {
        case 'id_token_missing':
          return new CodegrantError(
            'ERR_ID_TOKEN_MISSING',
            `${context}: the token response has no valid id_token`,
            { cause: err },
          )
        case 'jwt':
          return idTokenRefused(context, reason, err)
        default:
          return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: ${reason}`, {
            cause: err,
          })
      }
  }
  if (ope) {
    return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: ${reason}`, { cause: err })
  }
  if (chain.some((e) => e instanceof TypeError && e.message === 'fetch failed')) {
    return new CodegrantError('ERR_NETWORK', `${context}: the request failed`, { cause: err })
  }
  return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: unexpected failure`, {
    cause: err,
  })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The one refinement of an oauth4webapi code that is too broad for us, read from the data
 * oauth4webapi attaches as `cause`, never from a message:
 *
 * - `OAUTH_UNSUPPORTED_OPERATION`: the token response (`{ body }` with a `token_type`: an unknown
 *   token type), a JWT (the raw compact JWE string, or `{ header }` with `crit`), or anything else
 *   (a key or algorithm we cannot use). openid-client checks JWS algorithms (`{ alg }`) only when
 *   it verifies signatures, which it does not for us (id-token.ts verifies ID tokens with jose).
 * - `OAUTH_INVALID_RESPONSE`: a JWT (the raw compact JWS as a string, or `{ claims }` /
 *   `{ header }` of a decoded one); the token response body (`{ body }`) whose `access_token`
 *   passed but whose `id_token` is not a non-empty string (an expected ID token is missing); or
 *   anything else.
 *
 * Each case is pinned by a test against a real openid-client error (map-error.test.ts).
 */
function refine(
  code: typeof UNSUPPORTED_OPERATION | typeof INVALID_RESPONSE,
  cause: unknown,
): 'token_type' | 'id_token_missing' | 'jwt' | 'other' {
  if (typeof cause === 'string') return 'jwt'
  if (!isRecord(cause)) return 'other'
  const body = cause.body
  if (code === UNSUPPORTED_OPERATION) {
    if (isRecord(body) && 'token_type' in body) return 'token_type'
    if ('header' in cause) return 'jwt' // a "crit" header parameter
    return 'other'
  }
  if ('claims' in cause || 'header' in cause) return 'jwt'
  if (
    isRecord(body) &&
    typeof body.access_token === 'string' &&
    body.access_token !== '' &&
    typeof body.token_type === 'string' &&
    (typeof body.id_token !== 'string' || body.id_token === '')
  ) {
    return 'id_token_missing'
  }
  return 'other'
}

/** What to check, per client authentication method, when the AS refuses it. */
function clientAuthAdvice(method: ClientAuthMethod | undefined): string {
  const audience =
    '"assertionAudience" (an AS that accepts only its token endpoint as the assertion "aud", such as Glewlwyd, needs assertionAudience: \'token_endpoint\')'
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      return `check "clientId" and "clientSecret", and that "clientAuthMethod" (${method}) is the method registered for this client`
    case 'client_secret_jwt':
      return `check "clientId" and "clientSecret", that "clientAuthMethod" (client_secret_jwt) is the method registered for this client, and ${audience}`
    case 'private_key_jwt':
      return `check "clientId", that "privateKey" is the key registered for this client (and "privateKeyId" its kid), that "clientAuthMethod" (private_key_jwt) is the method registered for it, and ${audience}`
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      return `check "clientId", the client certificate your "fetch" presents, and that "clientAuthMethod" (${method}) is the method registered for this client`
    case 'none':
      return 'the client is public ("clientAuthMethod" none): check "clientId", or configure the secret or key registered for it'
    case undefined:
      return 'check "clientId", "clientSecret" or "privateKey", "clientAuthMethod", and for JWT client authentication "assertionAudience"'
  }
}

/**
 * `ERR_CLIENT_AUTH_REFUSED`: the AS did not accept the client's credentials. A configuration
 * error on our side or the AS's (answer 5xx), never the user's.
 */
function clientAuthRefused(
  context: string,
  request: ErrorContext,
  details: { error?: string; error_description?: string; status?: number },
  cause: unknown,
): CodegrantError {
  const error = isSafeErrorCode(details.error) ? details.error : undefined
  const status = details.status === undefined ? undefined : `HTTP ${details.status}`
  const what = [error, status].filter((part) => part !== undefined).join(', ')
  return new CodegrantError(
    'ERR_CLIENT_AUTH_REFUSED',
    `${context}: the authorization server refused the client authentication${what ? ` (${what})` : ''}: ${clientAuthAdvice(request.clientAuthMethod)}`,
    { cause, ...details },
  )
}

function oauthDetails(
  error: unknown,
  description: unknown,
  status: number | undefined,
): { error?: string; error_description?: string; status?: number } {
  return {
    ...(typeof error === 'string' && { error }),
    ...(typeof description === 'string' && { error_description: description }),
    ...(status !== undefined && { status }),
  }
}

function describe(details: { error?: string; status?: number }): string {
  const error = isSafeErrorCode(details.error) ? details.error : 'an error'
  return details.status === undefined ? error : `${error} (HTTP ${details.status})`
}

function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = []
  let current: unknown = err
  while (
    current !== undefined &&
    current !== null &&
    chain.length < 8 &&
    !chain.includes(current)
  ) {
    chain.push(current)
    current = current instanceof Error ? current.cause : undefined
  }
  return chain
}

function findInChain(err: unknown, test: (e: unknown) => boolean): unknown {
  return causeChain(err).find(test)
}

function hasCode(chain: unknown[], code: string): boolean {
  return chain.some((e) => e instanceof Error && (e as { code?: unknown }).code === code)
}

function codeOf(chain: unknown[]): string | undefined {
  for (const e of chain) {
    const code = e instanceof Error ? (e as { code?: unknown }).code : undefined
    if (typeof code === 'string') return code
  }
  return undefined
}

function statusOf(chain: unknown[]): number | undefined {
  for (const e of chain) {
    if (e instanceof Response) return e.status
    const cause = e instanceof Error ? e.cause : undefined
    if (cause instanceof Response) return cause.status
    const status = e instanceof Error ? (e as { status?: unknown }).status : undefined
    if (typeof status === 'number') return status
  }
  return undefined
}

function attributeOf(chain: unknown[]): unknown {
  for (const e of chain) {
    const cause = e instanceof Error ? e.cause : undefined
    if (typeof cause === 'object' && cause !== null && 'attribute' in cause) {
      return (cause as { attribute?: unknown }).attribute
    }
  }
  return undefined
}

/** The expected and found issuers of an openid-client issuer comparison failure, quoted. */
function issuersOf(chain: unknown[]): { expected: string; found: string } {
  const quote = (value: unknown) =>
    typeof value === 'string' ? JSON.stringify(value.slice(0, 200)) : 'none'
  for (const e of chain) {
    const cause = e instanceof Error ? (e.cause as Record<string, unknown> | undefined) : undefined
    if (typeof cause === 'object' && cause !== null && cause.attribute === 'issuer') {
      const body = cause.body as Record<string, unknown> | undefined
      return { expected: quote(cause.expected), found: quote(body?.issuer) }
    }
  }
  return { expected: 'unknown', found: 'unknown' }
}

/** `ERR_ID_TOKEN_INVALID`: an ID token failed a check (signature, claims, timestamps, key). */
function idTokenRefused(context: string, reason: string, cause: unknown): CodegrantError {
  return new CodegrantError('ERR_ID_TOKEN_INVALID', `${context}: ID token refused: ${reason}`, {
    cause,
  })
}
