import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose'
import type { TokenEndpointResponse, TokenEndpointResponseHelpers } from 'openid-client'
import { getClientSettings, type Client } from './client.js'
import { CodegrantError } from './errors.js'
import { keySetOf, KeySourceError, keySourceError } from './jwks.js'
import type { IdTokenClaims } from './types.js'

/**
 * The validated ID token claims of a token response (openid-client validated the claims;
 * {@link verifyIdToken} the signature and what openid-client leaves out), as a plain JSON
 * object; `undefined` when the response has no ID token.
 */
export function toClaims(
  response: TokenEndpointResponse & TokenEndpointResponseHelpers,
): IdTokenClaims | undefined {
  const claims = response.claims()
  return claims === undefined ? undefined : (structuredClone({ ...claims }) as IdTokenClaims)
}

function refused(context: string, reason: string, cause?: unknown): CodegrantError {
  return new CodegrantError('ERR_ID_TOKEN_INVALID', `${context}: ID token refused: ${reason}`, {
    ...(cause !== undefined && { cause }),
  })
}

/**
 * Completes openid-client's ID token validation (OpenID Connect Core 3.1.3.7) for a token
 * response that carries one:
 * - the signature, with the registered `alg` and the AS's keys from `jwks_uri` (jose's remote
 *   key set, see {@link keySetOf}: a new `kid` is fetched at most once per 30 s cooldown, so a
 *   rotated signing key is accepted within one cooldown);
 * - `azp`, when present, must be our `client_id` (oauth4webapi checks it only when `aud` has
 *   several members);
 * - `iat` no further in the future than the clock tolerance.
 *
 * @throws CodegrantError `ERR_ID_TOKEN_INVALID`; `ERR_TIMEOUT`, `ERR_NETWORK`,
 *   `ERR_RESPONSE_INVALID`, `ERR_RESPONSE_TOO_LARGE` when the keys cannot be had
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export async function verifyIdToken(
  client: Client,
  response: TokenEndpointResponse,
  context: string,
): Promise<void> {
  const idToken = response.id_token
  if (idToken === undefined) return
  const settings = getClientSettings(client)
  let kid: unknown
  try {
    kid = decodeProtectedHeader(idToken).kid
  } catch (cause) {
    throw refused(context, 'malformed JWT', cause)
  }
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(idToken, keySetOf(client, 'ID tokens'), {
      algorithms: [settings.idTokenSignedResponseAlg],
      issuer: client.issuer,
      audience: settings.clientId,
      clockTolerance: settings.clockTolerance,
    }))
  } catch (err) {
    if (err instanceof KeySourceError) throw keySourceError(err)
    if (err instanceof joseErrors.JWKSNoMatchingKey) {
      throw refused(
        context,
        `no key of the authorization server JWKS matches its ${typeof kid === 'string' ? '"kid"' : 'header (no "kid")'} (a new key is fetched at most every 30 s)`,
        err,
      )
    }
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      throw refused(context, 'several keys match and it has no "kid"', err)
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw refused(context, 'bad signature', err)
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      throw refused(
        context,
        `"alg" is not the registered ${settings.idTokenSignedResponseAlg}`,
        err,
      )
    }
    if (
      err instanceof joseErrors.JWTClaimValidationFailed ||
      err instanceof joseErrors.JWTExpired
    ) {
      throw refused(context, `invalid "${err.claim}"`, err)
    }
    throw refused(context, 'verification failed', err)
  }
  if (payload.azp !== undefined && payload.azp !== settings.clientId) {
    throw refused(context, '"azp" is not our client_id')
  }
  const now = Math.floor(Date.now() / 1000)
  if (typeof payload.iat !== 'number' || payload.iat > now + settings.clockTolerance) {
    throw refused(context, '"iat" is in the future (beyond the clock tolerance)')
  }
}
