import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import * as openid from 'openid-client'
import { clientAuthContext, getConfiguration, type Client } from './client.js'
import { dpopOptions } from './dpop.js'
import { CodegrantError } from './errors.js'
import { toClaims, verifyIdToken } from './id-token.js'
import { toCodegrantError } from './map-error.js'
import { toTokenSet } from './token-set.js'
import type { IdTokenClaims, TokenSet } from './types.js'

/** Options of {@link refreshTokens}. */
export interface RefreshOptions {
  /** A narrower scope to ask for (RFC 6749 section 6). */
  scope?: string
  /** RFC 8707 resource indicators for the new access token. */
  resource?: string | string[]
  /**
   * Always send a refresh request: a result kept for the grace window is not reused. A
   * refresh of the same token that is still under way is joined (its answer is new).
   *
   * @default false
   */
  force?: boolean
  /**
   * Seconds before its expiry from which a kept token set is no longer handed out (capped at
   * half the token's lifetime): the same margin the caller uses to decide to refresh, so the
   * grace window never answers with a set the caller would refresh at once.
   *
   * @default {@link REFRESH_MARGIN_S}
   */
  margin?: number
}

/** The new token set, and the claims of a new ID token when the AS sent one. */
export interface RefreshResult {
  tokens: TokenSet
  claims?: IdTokenClaims
}

/** How long a finished refresh is shared with latecomers holding the old refresh token. */
export const REFRESH_GRACE_MS = 10_000
/** Default {@link RefreshOptions.margin}, in seconds (the `isExpired()` default). */
export const REFRESH_MARGIN_S = 30
/** Bound on the refresh results kept per client for the grace window. */
export const REFRESH_CACHE_MAX = 1000

interface Flight {
  readonly promise: Promise<RefreshResult>
  /** The request's scope and resource parameters: only an identical request may share it. */
  readonly parameters: string
  /** Set when the refresh succeeded: the entry serves latecomers until then. */
  graceUntil?: number
  /** Set when the refresh succeeded: when (ms since the epoch) the AS answered. */
  finishedAt?: number
  /** Set when the refresh succeeded: the access token's `expires_at`, if the AS said. */
  expiresAt?: number
}

/**
 * Whether a finished refresh may still be handed out at `now` (ms): its access token is
 * neither expired nor within `margin` seconds of its expiry, the margin capped at half the
 * token's lifetime (a 4 s token is served for 2 s). Without `expires_in` it is not known to
 * expire, and the grace window alone bounds it.
 */
function stillFresh(flight: Flight, now: number, margin: number): boolean {
  if (flight.expiresAt === undefined || flight.finishedAt === undefined) return true
  const lifetime = Math.max(0, flight.expiresAt - flight.finishedAt / 1000)
  return now / 1000 < flight.expiresAt - Math.min(margin, lifetime / 2)
}

const flights = new WeakMap<Client, Map<string, Flight>>()

function flightsOf(client: Client): Map<string, Flight> {
  let map = flights.get(client)
  if (!map) {
    map = new Map()
    flights.set(client, map)
  }
  return map
}

function prune(map: Map<string, Flight>, now: number): void {
  for (const [key, flight] of map) {
    if (flight.graceUntil !== undefined && flight.graceUntil <= now) map.delete(key)
  }
  if (map.size < REFRESH_CACHE_MAX) return
  for (const [key, flight] of map) {
    if (map.size < REFRESH_CACHE_MAX) break
    if (flight.graceUntil !== undefined) map.delete(key)
  }
}

/** The key of a refresh: a hash, so raw refresh tokens are never kept as map keys. */
function keyOf(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url')
}

function copy(result: RefreshResult): RefreshResult {
  return structuredClone(result)
}

/**
 * Refreshes a token set (RFC 6749 section 6), coordinated in-process: concurrent calls for
 * the same refresh token share one request, and its result is kept for
 * {@link REFRESH_GRACE_MS} so that a latecomer still holding the old (now rotated) refresh
 * token gets the new set instead of replaying a revoked token. The key is a SHA-256 hash of
 * the old refresh token; only calls with the same `scope` and `resource` share a request. A call
 * that asks for other parameters while a refresh of the same token is under way (or within its
 * window) waits for it and then refreshes again with the rotated refresh token.
 *
 * A kept result is never handed out once its access token is expired or within `margin`
 * seconds of expiry (an AS that does not rotate refresh tokens gets the same key again a few
 * seconds later: that call reaches the AS), and `force: true` always reaches the AS.
 *
 * A new refresh token replaces the old one; none in the response keeps the old one (and the
 * old `id_token` too). A new ID token is validated (signature included) and must have the
 * same `sub` as the caller's ID token when the caller's token set has one.
 *
 * @param tokens the current token set, or just its refresh token
 * @throws TypeError when there is no refresh token
 * @throws CodegrantError `ERR_INVALID_GRANT` (the refresh token is revoked, expired or
 *   reused: log the user in again), `ERR_ID_TOKEN_INVALID` (including a changed `sub`),
 *   `ERR_TOKEN_ERROR`, `ERR_RESPONSE_INVALID`, `ERR_TIMEOUT`, `ERR_NETWORK`
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse
 */
export async function refreshTokens(
  client: Client,
  tokens: TokenSet | string,
  options: RefreshOptions = {},
): Promise<RefreshResult> {
  const config = getConfiguration(client)
  const previous: Partial<TokenSet> =
    typeof tokens === 'string' ? { refresh_token: tokens } : (tokens ?? {})
  const refreshToken = previous.refresh_token
  if (typeof refreshToken !== 'string' || refreshToken.length === 0) {
    throw new TypeError('"tokens" must be a refresh token or a TokenSet with a refresh_token')
  }
  const parameters = new URLSearchParams()
  if (options.scope !== undefined) {
    if (typeof options.scope !== 'string' || !options.scope) {
      throw new TypeError('"scope" must be a non-empty string')
    }
    parameters.set('scope', options.scope)
  }
  const resource = options.resource === undefined ? [] : ([] as string[]).concat(options.resource)
  for (const value of resource) {
    if (typeof value !== 'string' || !value) throw new TypeError('"resource" must be URIs')
    parameters.append('resource', value)
  }
  if (options.force !== undefined && typeof options.force !== 'boolean') {
    throw new TypeError('"force" must be a boolean')
  }
  const margin = options.margin ?? REFRESH_MARGIN_S
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0) {
    throw new TypeError('"margin" must be a non-negative number')
  }

  const map = flightsOf(client)
  const now = Date.now()
  prune(map, now)
  const key = keyOf(refreshToken)
  let existing = map.get(key)
  if (
    existing?.graceUntil !== undefined &&
    (options.force === true || !stillFresh(existing, now, margin))
  ) {
    // Finished, but not to be handed out: this call goes to the AS (with a refresh token that
    // was not rotated, or, when forced, whatever the caller holds).
    map.delete(key)
    existing = undefined
  }
  if (existing && (existing.graceUntil === undefined || existing.graceUntil > now)) {
    if (existing.parameters === parameters.toString()) return copy(await existing.promise)
    // Another scope or resource is being asked with the same refresh token. Its result is not
    // ours to share, and replaying the old token would be refused once it rotates: wait for
    // that refresh, then refresh again with the token it produced.
    const chained = await existing.promise.then(
      (result) => result.tokens,
      () => undefined,
    )
    if (chained?.refresh_token !== undefined && chained.refresh_token !== refreshToken) {
      return refreshTokens(client, chained, options)
    }
    if (map.get(key) === existing) map.delete(key)
  }

  const promise = refreshOnce(client, config, refreshToken, previous, parameters)
  const flight: Flight = { promise, parameters: parameters.toString() }
  map.set(key, flight)
  promise.then(
    (result) => {
      flight.finishedAt = Date.now()
      if (result.tokens.expires_at !== undefined) flight.expiresAt = result.tokens.expires_at
      flight.graceUntil = flight.finishedAt + REFRESH_GRACE_MS
      // Drop the new tokens from memory once the window closes, even if no call comes.
      setTimeout(() => {
        if (map.get(key) === flight) map.delete(key)
      }, REFRESH_GRACE_MS).unref()
    },
    () => {
      // A failure is not shared with latecomers: a timeout may be retried.
      if (map.get(key) === flight) map.delete(key)
    },
  )
  return copy(await promise)
}

async function refreshOnce(
  client: Client,
  config: openid.Configuration,
  refreshToken: string,
  previous: Partial<TokenSet>,
  parameters: URLSearchParams,
): Promise<RefreshResult> {
  let response: openid.TokenEndpointResponse & openid.TokenEndpointResponseHelpers
  try {
    response = await openid.refreshTokenGrant(
      config,
      refreshToken,
      parameters,
      await dpopOptions(client),
    )
  } catch (err) {
    throw toCodegrantError(err, 'refresh', clientAuthContext(client))
  }
  await verifyIdToken(client, response, 'refresh')
  const claims = toClaims(response)
  if (claims !== undefined && typeof previous.id_token === 'string') {
    let previousSub: unknown
    try {
      previousSub = decodeJwt(previous.id_token).sub
    } catch {
      previousSub = undefined
    }
    if (previousSub !== claims.sub) {
      throw new CodegrantError(
        'ERR_ID_TOKEN_INVALID',
        'refresh: the new ID token has a different "sub" than the previous one',
      )
    }
  }
  const tokens = toTokenSet(response, previous)
  return claims === undefined ? { tokens } : { tokens, claims }
}
