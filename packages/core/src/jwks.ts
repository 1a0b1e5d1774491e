import { createRemoteJWKSet, customFetch, errors as joseErrors, type JWTVerifyGetKey } from 'jose'
import { getClientSettings, type Client } from './client.js'
import { CodegrantError } from './errors.js'
import { createBoundedFetch } from './http.js'

/**
 * After a fetch of the AS's JWKS, how long (ms) a token with an unknown `kid` is refused
 * without fetching again. One fetch per cooldown however many unknown `kid`s arrive; a key
 * the AS rotated in is accepted at most this long after its first use.
 */
export const JWKS_COOLDOWN_MS = 30_000
/** How long (ms) a fetched JWKS is used before it is fetched again anyway. */
export const JWKS_MAX_AGE_MS = 600_000

const keySets = new WeakMap<Client, JWTVerifyGetKey>()

/** A failure while getting the AS's keys: not a verdict on the token. */
export class KeySourceError extends Error {}

/**
 * The AS's signing keys from `jwks_uri`, one cache per {@link Client}, shared by ID token and
 * logout token verification. jose's remote key set: a `kid` not in the cached set triggers a
 * refetch unless the last fetch is less than {@link JWKS_COOLDOWN_MS} old; concurrent
 * refetches share one request. (oauth4webapi's own cache refetches only when the cached set
 * is 60 s old, and its cache cannot be told otherwise: hence jose here.) Requests go through
 * the client's bounded fetch (timeout, size limit, injected fetch). A failure to get the keys
 * is thrown as {@link KeySourceError}; a `kid` that no key matches as jose's
 * `JWKSNoMatchingKey`.
 *
 * @throws CodegrantError `ERR_METADATA_INVALID` when the metadata has no `jwks_uri`
 */
export function keySetOf(client: Client, purpose: string): JWTVerifyGetKey {
  let getKey = keySets.get(client)
  if (getKey) return getKey
  const jwksUri = client.metadata.jwks_uri
  if (typeof jwksUri !== 'string') {
    throw new CodegrantError(
      'ERR_METADATA_INVALID',
      `the authorization server metadata has no "jwks_uri" to verify ${purpose} with`,
    )
  }
  const settings = getClientSettings(client)
  const jwks = createRemoteJWKSet(new URL(jwksUri), {
    timeoutDuration: settings.timeout,
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    [customFetch]: createBoundedFetch(settings.fetch, settings.timeout, settings.maxResponseSize),
  })
  getKey = async (header, token) => {
    try {
      return await jwks(header, token)
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys
      ) {
        throw err
      }
      throw new KeySourceError('JWKS unavailable', { cause: err })
    }
  }
  keySets.set(client, getKey)
  return getKey
}

/** The {@link CodegrantError} of a {@link KeySourceError}: the JWKS could not be had. */
export function keySourceError(err: KeySourceError): CodegrantError {
  const cause = err.cause
  // Our bounded fetch's own errors (ERR_TIMEOUT, ERR_NETWORK, ERR_RESPONSE_TOO_LARGE), however
  // deep jose wrapped them.
  for (let e: unknown = cause, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof CodegrantError) return e
    e = e.cause
  }
  if (cause instanceof joseErrors.JWKSTimeout) {
    return new CodegrantError('ERR_TIMEOUT', 'fetching the authorization server JWKS timed out', {
      cause,
    })
  }
  if (cause instanceof joseErrors.JOSEError) {
    return new CodegrantError(
      'ERR_RESPONSE_INVALID',
      'the authorization server JWKS response is invalid',
      { cause },
    )
  }
  return new CodegrantError('ERR_NETWORK', 'fetching the authorization server JWKS failed', {
    cause,
  })
}
