import { CodegrantError, type CodegrantErrorCode } from './errors.js'

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
export function toCodegrantError(err: unknown, context: string): CodegrantError {
  const found = findInChain(err, (e) => e instanceof CodegrantError)
  if (found instanceof CodegrantError) return found

  const chain = causeChain(err)
  const named = (name: string) => chain.find((e) => e instanceof Error && e.name === name)

  const body = named('ResponseBodyError') as
    (Error & { error?: unknown; error_description?: unknown; status?: unknown }) | undefined
  if (body) {
    const status = typeof body.status === 'number' ? body.status : undefined
    const details = oauthDetails(body.error, body.error_description, status)
    if (status !== undefined && status >= 500) {
      return new CodegrantError(
        'ERR_RESPONSE_INVALID',
        `${context}: the authorization server failed (HTTP ${status})`,
        { cause: err, ...details },
      )
    }
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

  switch (code) {
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
    case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
      return new CodegrantError(
        'ERR_METADATA_INVALID',
        `${context}: refused a non-https endpoint`,
        {
          cause: err,
        },
      )
    case 'OAUTH_MISSING_SERVER_METADATA':
    case 'OAUTH_INVALID_SERVER_METADATA':
      return new CodegrantError(
        'ERR_METADATA_INVALID',
        `${context}: ${reason || 'unusable metadata'}`,
        {
          cause: err,
        },
      )
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      return new CodegrantError(
        'ERR_RESPONSE_INVALID',
        `${context}: unexpected HTTP status${status === undefined ? '' : ` ${status}`}`,
        { cause: err, ...withStatus },
      )
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
    case 'OAUTH_PARSE_ERROR':
      return new CodegrantError(
        'ERR_RESPONSE_INVALID',
        `${context}: the response is not valid JSON`,
        {
          cause: err,
          ...withStatus,
        },
      )
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED': {
      const attribute = attributeOf(chain)
      if (attribute === 'sub') {
        return new CodegrantError(
          'ERR_USERINFO_SUB_MISMATCH',
          `${context}: the "sub" differs from the ID token's`,
          { cause: err },
        )
      }
      if (attribute === 'issuer') {
        return new CodegrantError(
          'ERR_METADATA_INVALID',
          `${context}: the metadata "issuer" does not match the expected issuer`,
          { cause: err },
        )
      }
      return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: ${reason}`, { cause: err })
    }
    case 'OAUTH_UNSUPPORTED_OPERATION':
      if (reason.includes('token_type')) {
        return new CodegrantError(
          'ERR_TOKEN_TYPE_UNSUPPORTED',
          `${context}: the token_type is neither Bearer nor DPoP`,
          { cause: err },
        )
      }
      if (/JWS|JWT|JWE|modulusLength/.test(reason)) {
        return new CodegrantError(
          'ERR_ID_TOKEN_INVALID',
          `${context}: ID token refused: ${reason}`,
          {
            cause: err,
          },
        )
      }
      return new CodegrantError(
        'ERR_UNSUPPORTED',
        `${context}: ${reason || 'unsupported operation'}`,
        {
          cause: err,
        },
      )
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new CodegrantError('ERR_ID_TOKEN_INVALID', `${context}: ID token refused: ${reason}`, {
        cause: err,
      })
    case 'OAUTH_INVALID_RESPONSE':
      if (reason.includes('"id_token" property')) {
        return new CodegrantError(
          'ERR_ID_TOKEN_MISSING',
          `${context}: the token response has no valid id_token`,
          { cause: err },
        )
      }
      if (/JWT|ID Token|signature/.test(reason)) {
        return new CodegrantError(
          'ERR_ID_TOKEN_INVALID',
          `${context}: ID token refused: ${reason}`,
          {
            cause: err,
          },
        )
      }
      return new CodegrantError('ERR_RESPONSE_INVALID', `${context}: ${reason}`, { cause: err })
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

const SAFE_ERROR = /^[\w.:-]{1,64}$/

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
  const error =
    details.error !== undefined && SAFE_ERROR.test(details.error) ? details.error : 'an error'
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
