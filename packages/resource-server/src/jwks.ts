import { createPublicKey, type JsonWebKeyInput } from 'node:crypto'
import { SingleFlight } from '@codegrant/internal'
import { paramsForKey, type VerifyParams } from './algorithms.js'
import type { EndpointSource } from './discovery.js'
import { ResourceServerError } from './errors.js'
import { fetchJson } from './http.js'
import type { ResolvedOptions } from './options.js'
import { causeMessage, warn } from './warn.js'

/** A JWKS key imported once into a node:crypto `KeyObject`, ready for every algorithm it allows. */
export interface ImportedKey {
  readonly kid: string | undefined
  /** Identity across refreshes: kid, alg and the public key itself. */
  readonly id: string
  readonly params: ReadonlyMap<string, VerifyParams>
  /** Set when a later JWKS no longer lists this key: cached verifications made with it lapse. */
  revoked: boolean
}

const NONE: readonly ImportedKey[] = Object.freeze([])
const FIRST_RETRY_MS = 1000

/**
 * The JSON Web Key Set cache. jose's `createRemoteJWKSet` has the cooldown and single-flight, but
 * it drops to an error when a refresh fails, imports WebCrypto keys (slower to verify than
 * node:crypto's), and cannot tell us which keys a refresh removed. So this small cache:
 *
 * - fetches lazily, one fetch at a time (single-flight);
 * - refetches for an unknown `kid` at most once per `jwksCooldown`, so a flood of random `kid`s
 *   costs at most one fetch per cooldown;
 * - refreshes in the background after `jwksMaxAge`, keeping the last good keys while the JWKS
 *   endpoint fails (a JWKS without one usable key counts as a failure);
 * - before the first success, answers `ERR_KEYS_UNAVAILABLE` (503) and retries after a backoff
 *   (1 s doubling up to the cooldown), so an API started while the AS is down recovers;
 * - imports each key once (`KeyObject` plus prepared verify parameters per algorithm) and marks
 *   keys that disappear from the set as revoked.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 RFC 7517 §5
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.10 RFC 8725 §3.10 (no keys from headers)
 */
export class JwksStore {
  private byKid = new Map<string, readonly ImportedKey[]>()
  private byAlg = new Map<string, readonly ImportedKey[]>()
  private keys: readonly ImportedKey[] = NONE
  private loaded = false
  private loadedAt = 0
  private lastFetchAt = Number.NEGATIVE_INFINITY
  /** One fetch at a time; its backoff (1 s doubling up to the cooldown) matters until the first success. */
  private readonly fetches: SingleFlight<void>
  /** Fetches made, for tests and diagnostics. */
  fetchCount = 0

  constructor(
    private readonly options: ResolvedOptions,
    private readonly endpoints: EndpointSource,
  ) {
    this.fetches = new SingleFlight(() => this.fetchAndImport(), {
      first: FIRST_RETRY_MS,
      max: Math.max(options.jwksCooldown * 1000, FIRST_RETRY_MS),
    })
  }

  /**
   * The keys for a `kid` (or, without a `kid`, every key that can do `alg`), synchronously, or
   * undefined when that needs a fetch. Starts a background refresh when the set is stale.
   */
  lookup(kid: string | undefined, alg: string): readonly ImportedKey[] | undefined {
    if (!this.loaded) return undefined
    if (
      Date.now() - this.loadedAt > this.options.jwksMaxAge * 1000 &&
      this.fetches.inflight === undefined &&
      Date.now() - this.lastFetchAt >= this.options.jwksCooldown * 1000
    )
      void this.load().catch(() => undefined)
    const found = kid === undefined ? this.byAlg.get(alg) : this.byKid.get(kid)
    return found
  }

  /** Like {@link lookup}, fetching the set when it is missing or the `kid` is unknown. */
  async resolve(kid: string | undefined, alg: string): Promise<readonly ImportedKey[]> {
    if (!this.loaded) {
      if (this.fetches.coolingDown)
        throw new ResourceServerError('ERR_KEYS_UNAVAILABLE', { cause: this.fetches.lastError })
      await this.load()
    } else if (
      this.fetches.inflight !== undefined ||
      Date.now() - this.lastFetchAt >= this.options.jwksCooldown * 1000
    ) {
      try {
        await this.load()
      } catch (cause) {
        // The key may be new: it cannot be checked now, so refuse as unavailable, never accept.
        throw new ResourceServerError('ERR_KEYS_UNAVAILABLE', { cause })
      }
    }
    return (kid === undefined ? this.byAlg.get(alg) : this.byKid.get(kid)) ?? NONE
  }

  /** Loads the set now when it never loaded (start-up checks); rejects as {@link resolve} does. */
  async warm(): Promise<void> {
    if (!this.loaded) await this.load()
  }

  private load(): Promise<void> {
    if (this.fetches.inflight === undefined) this.lastFetchAt = Date.now()
    return this.fetches.run()
  }

  private async fetchAndImport(): Promise<void> {
    let keys: ImportedKey[]
    try {
      const endpoints = await this.endpoints.get()
      const uri = endpoints.jwksUri
      if (uri === undefined) throw new Error('no jwks_uri')
      this.fetchCount++
      const jwks = await fetchJson(this.options.fetch, uri, this.options.timeout)
      keys = importKeys(jwks.keys, this.keys)
      if (keys.length === 0) throw new Error('the JWKS has no usable signing key')
    } catch (cause) {
      // A discovery failure was reported where it happened.
      if (cause instanceof ResourceServerError) throw cause
      warn(
        this.options,
        'ERR_KEYS_UNAVAILABLE',
        `JWKS fetch failed; keeping the last good keys: ${causeMessage(cause)}`,
        { cause: causeMessage(cause) },
      )
      throw new ResourceServerError('ERR_KEYS_UNAVAILABLE', { cause })
    }
    const kept = new Set(keys)
    for (const key of this.keys) if (!kept.has(key)) key.revoked = true
    const byKid = new Map<string, ImportedKey[]>()
    const byAlg = new Map<string, ImportedKey[]>()
    for (const key of keys) {
      if (key.kid !== undefined) {
        const list = byKid.get(key.kid)
        if (list === undefined) byKid.set(key.kid, [key])
        else list.push(key)
      }
      for (const alg of key.params.keys()) {
        const list = byAlg.get(alg)
        if (list === undefined) byAlg.set(alg, [key])
        else list.push(key)
      }
    }
    this.keys = Object.freeze(keys)
    this.byKid = byKid
    this.byAlg = byAlg
    this.loaded = true
    this.loadedAt = Date.now()
  }
}

/**
 * Imports the usable public signing keys of a JWKS, reusing the previous import of an unchanged
 * key. Skips symmetric keys, private keys, keys for encryption, keys that fail to import and RSA
 * keys under 2048 bits. A JWK `alg` restricts the key to that algorithm.
 */
export function importKeys(value: unknown, previous: readonly ImportedKey[]): ImportedKey[] {
  if (!Array.isArray(value)) throw new Error('the JWKS has no "keys" array')
  const old = new Map(previous.map((key) => [key.id, key]))
  const out: ImportedKey[] = []
  for (const jwk of value as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue
    const { kid, kty, alg, use, key_ops: keyOps } = jwk as Record<string, unknown>
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') continue
    if ('d' in jwk) continue
    if (use !== undefined && use !== 'sig') continue
    if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) continue
    if (kid !== undefined && typeof kid !== 'string') continue
    if (alg !== undefined && typeof alg !== 'string') continue
    let params: Map<string, VerifyParams>
    let id: string
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput)
      id = `${kid ?? ''}|${alg ?? ''}|${JSON.stringify(key.export({ format: 'jwk' }))}`
      const reused = old.get(id)
      if (reused !== undefined) {
        out.push(reused)
        continue
      }
      params = paramsForKey(key)
    } catch {
      continue
    }
    if (alg !== undefined) {
      const only = params.get(alg)
      params = only === undefined ? new Map() : new Map([[alg, only]])
    }
    if (params.size === 0) continue
    out.push({ kid, id, params, revoked: false })
  }
  return out
}
