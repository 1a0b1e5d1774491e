/** Auth-params of a challenge, by wire name. `undefined` entries are left out. */
export interface ChallengeParams {
  realm?: string | undefined
  error?: string | undefined
  error_description?: string | undefined
  error_uri?: string | undefined
  scope?: string | undefined
  acr_values?: string | undefined
  max_age?: string | undefined
  algs?: string | undefined
  resource_metadata?: string | undefined
}

const ORDER = [
  'realm',
  'error',
  'error_description',
  'error_uri',
  'scope',
  'acr_values',
  'max_age',
  'algs',
  'resource_metadata',
] as const

// Everything outside printable ASCII (controls such as CR and LF, DEL, non-ASCII) is replaced:
// a header value must not be able to end early or smuggle a second header.
const UNSAFE = /[^\x20-\x7e]/g
const QUOTE_OR_BACKSLASH = /["\\]/g

/**
 * Quotes a value as an RFC 9110 `quoted-string`: `"` and `\` become quoted-pairs, characters
 * outside printable ASCII become `?`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4 RFC 9110 §5.6.4
 */
export function quoteString(value: string): string {
  return `"${value.replace(UNSAFE, '?').replace(QUOTE_OR_BACKSLASH, '\\$&')}"`
}

/**
 * Builds a `WWW-Authenticate` challenge: the scheme followed by the given auth-params as
 * quoted strings, in the order realm, error, error_description, error_uri, scope, acr_values,
 * max_age, algs, resource_metadata. A pure function.
 *
 * @example buildWwwAuthenticate('Bearer', { error: 'insufficient_scope', scope: 'read:messages' })
 *   // 'Bearer error="insufficient_scope", scope="read:messages"'
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1 (`DPoP` and `algs`)
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3 (`acr_values`, `max_age`)
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1 RFC 9728 §5.1 (`resource_metadata`)
 */
export function buildWwwAuthenticate(scheme: 'Bearer' | 'DPoP', params: ChallengeParams): string {
  let out = ''
  for (const name of ORDER) {
    const value = params[name]
    if (value === undefined) continue
    out += `${out === '' ? ' ' : ', '}${name}=${quoteString(value)}`
  }
  return scheme + out
}
