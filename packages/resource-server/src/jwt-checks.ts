import { ResourceServerError } from './errors.js'
import type { ResolvedOptions } from './options.js'

/**
 * Checks the JOSE header of an access token before any key is looked up: `alg` on the allow-list
 * (never `none`), no `crit` we do not understand, a string `kid`. Returns the `alg`. Keys named
 * in the header (`jku`, `x5u`, `jwk`) are ignored, never fetched. `typ` is checked by
 * {@link checkType} once the signature holds.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.1 RFC 8725 §3.1 (algorithm verification)
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11 RFC 7515 §4.1.11 (`crit`)
 */
export function checkHeader(header: Record<string, unknown>, options: ResolvedOptions): string {
  const { alg, crit, kid } = header
  if (typeof alg !== 'string' || !options.algorithms.has(alg))
    throw new ResourceServerError('ERR_TOKEN_ALGORITHM')
  if (crit !== undefined)
    throw new ResourceServerError('ERR_TOKEN_MALFORMED', {
      description: 'The access token has an unsupported critical header parameter',
    })
  if (kid !== undefined && typeof kid !== 'string')
    throw new ResourceServerError('ERR_TOKEN_MALFORMED')
  return alg
}

/**
 * Checks that the header `typ` names an access token: `at+jwt` or `application/at+jwt`, and
 * outside {@link ResolvedOptions.strictType} also `JWT` or no `typ`. Anything else (an ID token's
 * `JWT`-less types, `dpop+jwt`, `logout+jwt`, ...) is `ERR_TOKEN_TYPE`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4 (`typ`)
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.11 RFC 8725 §3.11 (explicit typing)
 */
export function checkType(header: Record<string, unknown>, options: ResolvedOptions): void {
  if (!isAccessTokenType(header.typ, options.strictType))
    throw new ResourceServerError('ERR_TOKEN_TYPE')
}

/**
 * `at+jwt` or `application/at+jwt` (media type names are case-insensitive); outside strict `typ`
 * mode also `JWT` or no `typ`.
 */
function isAccessTokenType(typ: unknown, strict: boolean): boolean {
  if (typ === 'at+jwt') return true
  if (typ === undefined) return !strict
  if (typeof typ !== 'string') return false
  const lower = typ.toLowerCase()
  const media = lower.startsWith('application/') ? lower.slice(12) : lower
  return media === 'at+jwt' || (!strict && media === 'jwt')
}

/**
 * Checks `exp`, `nbf` and `iat` (and the optional maximum token age) against the clock. Runs on
 * every request, cache hits included.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4 RFC 7519 §4.1.4-4.1.6
 */
export function checkTimes(
  exp: number | undefined,
  nbf: number | undefined,
  iat: number | undefined,
  now: number,
  options: ResolvedOptions,
): void {
  const tolerance = options.clockTolerance
  if (exp !== undefined && now >= exp + tolerance)
    throw new ResourceServerError('ERR_TOKEN_EXPIRED')
  if (nbf !== undefined && nbf > now + tolerance)
    throw new ResourceServerError('ERR_TOKEN_NOT_YET_VALID')
  if (iat !== undefined && iat > now + tolerance)
    throw new ResourceServerError('ERR_TOKEN_NOT_YET_VALID', {
      description: 'The access token was issued in the future',
    })
  if (
    options.maxTokenAge !== undefined &&
    (iat === undefined || now - iat > options.maxTokenAge + tolerance)
  )
    throw new ResourceServerError('ERR_TOKEN_EXPIRED', {
      description: 'The access token is too old',
    })
}

const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const

function claimError(name: string): ResourceServerError {
  return new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
    description: `The access token "${name}" claim is missing or invalid`,
  })
}

function optionalNumber(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw claimError(name)
  return value
}

/**
 * Checks the claims of a JWT access token (its `iss` already picked one of the trusted issuers,
 * see the verifier): `aud` containing one of the API's
 * audiences, `exp` required, `nbf`/`iat` sane, RFC 9068's required claims in strict mode, and
 * no ID token claims (`nonce`, `at_hash`, `c_hash`, `s_hash`): an ID token is never an access
 * token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.11 RFC 8725 §3.11 (token confusion)
 */
export function checkClaims(
  claims: Record<string, unknown>,
  now: number,
  options: ResolvedOptions,
): { exp: number; nbf: number | undefined; iat: number | undefined } {
  for (const name of ID_TOKEN_CLAIMS)
    if (claims[name] !== undefined) throw new ResourceServerError('ERR_TOKEN_TYPE')
  if (!audienceMatches(claims.aud, options.audiences)) throw claimError('aud')
  const exp = optionalNumber(claims, 'exp')
  if (exp === undefined) throw claimError('exp')
  const nbf = optionalNumber(claims, 'nbf')
  const iat = optionalNumber(claims, 'iat')
  if (claims.sub !== undefined && typeof claims.sub !== 'string') throw claimError('sub')
  if (claims.client_id !== undefined && typeof claims.client_id !== 'string')
    throw claimError('client_id')
  if (options.strict) {
    if (claims.sub === undefined) throw claimError('sub')
    if (claims.client_id === undefined) throw claimError('client_id')
    if (iat === undefined) throw claimError('iat')
    if (typeof claims.jti !== 'string') throw claimError('jti')
  }
  checkTimes(exp, nbf, iat, now, options)
  return { exp, nbf, iat }
}

/** True when `aud` (a string or an array of strings) contains one of the expected audiences. */
export function audienceMatches(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === 'string') return audiences.includes(aud)
  if (!Array.isArray(aud)) return false
  for (const value of aud) if (typeof value === 'string' && audiences.includes(value)) return true
  return false
}
