import {
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose'
import { getClientSettings, type Client } from './client.js'
import { CodegrantError } from './errors.js'
import { keySetOf, KeySourceError, keySourceError } from './jwks.js'

/** The `events` member that marks a JWT as a back-channel logout token. */
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/**
 * How old (by `iat`) a logout token may be, in seconds, on top of the clock tolerance.
 *
 * @default 300
 */
const DEFAULT_MAX_AGE = 300

/** Options of {@link validateLogoutToken}. */
export interface ValidateLogoutTokenOptions {
  /**
   * The oldest accepted logout token, by its `iat`, in seconds (plus the client's clock
   * tolerance). Logout tokens are sent right after the logout, so keep this short: it also
   * bounds how long a replay guard must remember a `jti`.
   *
   * @default 300
   */
  maxAge?: number
  /**
   * Replay guard, called last, only for a token that passed every other check. Return `true`
   * when this `jti` (of this issuer) was already accepted, which fails validation; otherwise
   * record it and return `false`. `expiresAt` (seconds since the epoch) is when the token
   * stops being acceptable anyway, so the record may be forgotten then.
   */
  isReplay?: (jti: string, expiresAt: number) => boolean | Promise<boolean>
}

/** What a valid logout token says: whose session(s) to end. */
export interface LogoutTokenResult {
  /** The End-User whose sessions at this RP must end (all of them when `sid` is absent). */
  sub?: string
  /** The OP session whose RP sessions must end. */
  sid?: string
  /** Every claim of the logout token. */
  claims: Record<string, unknown>
}

function invalid(check: string, cause?: unknown): CodegrantError {
  return new CodegrantError('ERR_LOGOUT_TOKEN_INVALID', `logout token rejected: ${check}`, {
    cause,
  })
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Names the failed check from a jose error, without echoing any token content. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired || err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iat' && err.reason === 'check_failed') {
      return err instanceof joseErrors.JWTExpired ? 'iat too far in the past' : 'iat in the future'
    }
    if (err.claim === 'exp') return 'expired (exp)'
    if (err.claim === 'typ') return 'unexpected typ header'
    return err.reason === 'missing' ? `missing ${err.claim}` : `invalid ${err.claim}`
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature'
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'alg not allowed'
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no matching key in the JWKS'
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return 'malformed JWT'
  }
  if (err instanceof joseErrors.JOSENotSupported) return 'unsupported alg or key'
  return 'verification failed'
}

async function verifyWithKeys(
  token: string,
  getKey: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<{ payload: JWTPayload; protectedHeader: Record<string, unknown> }> {
  try {
    return await jwtVerify(token, getKey, options)
  } catch (err) {
    if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err
    // Several keys match (no kid): try each, as jose documents.
    let last: unknown = err
    for await (const key of err) {
      try {
        return await jwtVerify(token, key, options)
      } catch (inner) {
        last = inner
        if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) break
      }
    }
    throw last
  }
}

/**
 * Validates a back-channel logout token as OpenID Connect Back-Channel Logout 1.0 section 2.6
 * says: signature with the issuer's keys and the algorithm registered for ID tokens (`none`
 * refused), `iss`, `aud` (contains the client id), `iat` (present, not in the future, at most
 * {@link ValidateLogoutTokenOptions.maxAge} old), `exp` when present, `jti`, the
 * back-channel logout `events` member, `sub` and/or `sid`, no `nonce`, and `typ`
 * (`logout+jwt`, `JWT` or absent).
 *
 * @returns whose session(s) to end.
 * @throws CodegrantError `ERR_LOGOUT_TOKEN_INVALID` naming the failed check (never the token);
 *   `ERR_TIMEOUT` / `ERR_NETWORK` / `ERR_RESPONSE_INVALID` when the AS's JWKS cannot be fetched;
 *   `ERR_METADATA_INVALID` when the AS metadata has no `jwks_uri`.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
 */
export async function validateLogoutToken(
  client: Client,
  logoutToken: string,
  options: ValidateLogoutTokenOptions = {},
): Promise<LogoutTokenResult> {
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) {
    throw new TypeError('"maxAge" must be a non-negative number of seconds')
  }
  if (options.isReplay !== undefined && typeof options.isReplay !== 'function') {
    throw new TypeError('"isReplay" must be a function')
  }
  if (typeof logoutToken !== 'string' || logoutToken.length === 0) {
    throw invalid('missing logout token')
  }

  const settings = getClientSettings(client)
  const alg = settings.idTokenSignedResponseAlg
  if (alg === 'none') throw invalid('alg none is not accepted')

  // createClient accepts only asymmetric algorithms here, so the key is the issuer's JWKS.
  const key = keySetOf(client, 'logout tokens')

  let payload: JWTPayload
  let protectedHeader: Record<string, unknown>
  try {
    ;({ payload, protectedHeader } = await verifyWithKeys(logoutToken, key, {
      algorithms: [alg],
      issuer: client.issuer,
      audience: settings.clientId,
      clockTolerance: settings.clockTolerance,
      maxTokenAge: maxAge,
      requiredClaims: ['jti', 'events'],
    }))
  } catch (err) {
    if (err instanceof KeySourceError) throw keySourceError(err)
    throw invalid(describeJoseError(err), err)
  }

  const typ = protectedHeader.typ
  if (typ !== undefined) {
    const normalized =
      typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : ''
    if (normalized !== 'logout+jwt' && normalized !== 'jwt') throw invalid('unexpected typ header')
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw invalid('invalid jti')
  const events = payload.events
  if (!isPlainObject(events) || !isPlainObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
    throw invalid('events has no back-channel logout event')
  }
  if ('nonce' in payload) throw invalid('nonce must not be present')
  const { sub, sid } = payload
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0))
    throw invalid('invalid sub')
  if (sid !== undefined && (typeof sid !== 'string' || sid.length === 0))
    throw invalid('invalid sid')
  if (sub === undefined && sid === undefined) throw invalid('neither sub nor sid present')

  if (options.isReplay) {
    const iat = payload.iat as number
    const tolerance = settings.clockTolerance
    const lastAcceptable = iat + maxAge + tolerance
    const expiresAt =
      typeof payload.exp === 'number'
        ? Math.min(payload.exp + tolerance, lastAcceptable)
        : lastAcceptable
    if (await options.isReplay(payload.jti, expiresAt)) throw invalid('jti already used (replay)')
  }

  const result: LogoutTokenResult = { claims: { ...payload } }
  if (typeof sub === 'string') result.sub = sub
  if (typeof sid === 'string') result.sid = sid
  return result
}
