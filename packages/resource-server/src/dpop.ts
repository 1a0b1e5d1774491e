import { createHash, createHmac, createPublicKey, type JsonWebKeyInput } from 'node:crypto'
import { paramsForKey } from './algorithms.js'
import { ResourceServerError } from './errors.js'
import { decodeJsonObject, isCompactJws, verifySignature } from './jws.js'
import type { ResolvedDpop, ResolvedOptions } from './options.js'
import { causeMessage, warn } from './warn.js'

const MAX_PROOF_LENGTH = 8192
const MAX_JTI_LENGTH = 128

/** What the replay check says about a proof. */
export type ReplayResult = 'ok' | 'replayed' | 'full'

/**
 * Remembers DPoP proof `jti`s in process for at least the proof window, in two generations
 * rotated once per window, so a proof can be used once.
 *
 * Bounded in all and per key (per `cnf.jkt`). A key that reaches its share, or the key with the
 * most entries when the cache is full, has its entries dropped: from then on its proofs issued
 * (`iat`) up to that moment are refused, since they can no longer be told apart from a replay
 * (fail closed), while its fresh proofs and every other client's are served. So one client
 * flooding proofs only ever evicts itself.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1 RFC 9449 §11.1
 */
export class ReplayCache {
  private current = new Map<string, Set<string>>()
  private previous = new Map<string, Set<string>>()
  private currentSize = 0
  private previousSize = 0
  private rotatedAt = Date.now()
  /** Per evicted key: proofs with `iat` (seconds) at or before this are refused. */
  private evicted = new Map<string, number>()

  /**
   * @param windowMs how long a `jti` is remembered (at least): the proof window
   * @param maxEntries memory bound for all keys
   * @param maxEntriesPerKey bound for the proofs of one key
   * @param toleranceSeconds clock tolerance: a proof's `iat` may be this far ahead
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 500_000,
    private readonly maxEntriesPerKey = Math.max(1, Math.floor(maxEntries / 20)),
    private readonly toleranceSeconds = 0,
  ) {}

  /** Entries held, for tests and diagnostics. */
  get size(): number {
    return this.currentSize + this.previousSize
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.windowMs) return
    const keepCurrent = now - this.rotatedAt < 2 * this.windowMs
    this.previous = keepCurrent ? this.current : new Map()
    this.previousSize = keepCurrent ? this.currentSize : 0
    this.current = new Map()
    this.currentSize = 0
    this.rotatedAt = now
    // An eviction mark matters while proofs issued before it can still be in the window.
    const horizon = now / 1000 - 2 * (this.windowMs / 1000)
    for (const [jkt, mark] of this.evicted) if (mark < horizon) this.evicted.delete(jkt)
  }

  private countOf(jkt: string): number {
    return (this.current.get(jkt)?.size ?? 0) + (this.previous.get(jkt)?.size ?? 0)
  }

  /** Drops every entry of `jkt` and refuses its proofs issued up to now (plus tolerance). */
  private evict(jkt: string, now: number): void {
    const mine = this.current.get(jkt)
    const before = this.previous.get(jkt)
    this.currentSize -= mine?.size ?? 0
    this.previousSize -= before?.size ?? 0
    this.current.delete(jkt)
    this.previous.delete(jkt)
    this.evicted.set(jkt, now / 1000 + this.toleranceSeconds)
  }

  /** The key with the most entries (only run when the whole cache is full). */
  private largestKey(): string | undefined {
    let largest: string | undefined
    let most = 0
    for (const map of [this.current, this.previous])
      for (const jkt of map.keys()) {
        const count = this.countOf(jkt)
        if (count > most) {
          most = count
          largest = jkt
        }
      }
    return largest
  }

  /**
   * Records `jti` of a proof signed by the key `jkt` and issued at `iat` (seconds): 'replayed'
   * when seen within the window, 'full' when the proof predates an eviction of its key.
   */
  add(jkt: string, jti: string, iat = Number.POSITIVE_INFINITY): ReplayResult {
    const now = Date.now()
    this.rotate(now)
    const mark = this.evicted.get(jkt)
    if (mark !== undefined && iat <= mark) return 'full'
    const mine = this.current.get(jkt)
    if (mine?.has(jti) || this.previous.get(jkt)?.has(jti)) return 'replayed'
    if (this.countOf(jkt) >= this.maxEntriesPerKey) this.evict(jkt, now)
    while (this.currentSize + this.previousSize >= this.maxEntries) {
      const largest = this.largestKey()
      if (largest === undefined) break
      this.evict(largest, now)
    }
    // The proof itself was not seen, so recording it after an eviction of its key is safe.
    const set = this.current.get(jkt)
    if (set) set.add(jti)
    else this.current.set(jkt, new Set([jti]))
    this.currentSize++
    return 'ok'
  }
}

/**
 * The replay check of a verifier: the in-process {@link ReplayCache}, or a shared
 * {@link ReplayStore} (one atomic add per proof). A store failure is
 * `ERR_REPLAY_STORE_UNAVAILABLE` (503).
 */
export class ReplayGuard {
  private readonly cache: ReplayCache | undefined
  private readonly windowMs: number

  constructor(private readonly options: ResolvedOptions) {
    const { dpop, clockTolerance } = options
    this.windowMs = (dpop.proofMaxAge + 2 * clockTolerance) * 1000
    this.cache =
      dpop.replayStore === undefined
        ? new ReplayCache(
            this.windowMs,
            dpop.replayCacheMaxEntries,
            dpop.replayCacheMaxEntriesPerKey,
            clockTolerance,
          )
        : undefined
  }

  add(jkt: string, jti: string, iat: number): ReplayResult | Promise<ReplayResult> {
    if (this.cache !== undefined) return this.cache.add(jkt, jti, iat)
    const store = this.options.dpop.replayStore!
    let added: Promise<boolean>
    try {
      added = store.add(`${jkt}:${jti}`, this.windowMs)
    } catch (cause) {
      return Promise.reject(storeUnavailable(cause, this.options))
    }
    return Promise.resolve(added).then(
      (isNew) => (isNew === true ? 'ok' : 'replayed'),
      (cause: unknown) => Promise.reject(storeUnavailable(cause, this.options)),
    )
  }
}

function storeUnavailable(cause: unknown, options: ResolvedOptions): ResourceServerError {
  warn(
    options,
    'ERR_REPLAY_STORE_UNAVAILABLE',
    `the DPoP replay store failed; proofs are refused (503) until it answers: ${causeMessage(cause)}`,
    { cause: causeMessage(cause) },
  )
  return new ResourceServerError('ERR_REPLAY_STORE_UNAVAILABLE', { cause })
}

/**
 * Stateless server nonces: HMAC(secret, time step), so every instance sharing the secret agrees.
 * The current and the previous step's nonces are accepted.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9 RFC 9449 §9
 */
export function dpopNonce(dpop: ResolvedDpop, step: number): string {
  return createHmac('sha256', dpop.nonceSecret!).update(`dpop-nonce:${step}`).digest('base64url')
}

function nonceStep(dpop: ResolvedDpop): number {
  return Math.floor(Date.now() / 1000 / dpop.nonceLifetime)
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA, EC or OKP key. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  let canonical: string
  switch (jwk.kty) {
    case 'EC':
      canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      break
    case 'RSA':
      canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })
      break
    case 'OKP':
      canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })
      break
    default:
      throw new Error('unsupported kty')
  }
  return createHash('sha256').update(canonical).digest('base64url')
}

function proofError(description: string, options: ResolvedOptions): ResourceServerError {
  return new ResourceServerError('ERR_DPOP_PROOF_INVALID', {
    description,
    scheme: 'DPoP',
    algs: options.dpop.algs,
  })
}

/** Origin and path of a URL, without query and fragment (RFC 9449 §4.3 step 9). */
function targetUri(value: string | URL): string | undefined {
  try {
    const url = value instanceof URL ? value : new URL(value)
    return url.origin + url.pathname
  } catch {
    return undefined
  }
}

/**
 * Checks the DPoP proof of a request that presents a DPoP-bound token: one proof, `typ`
 * `dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` whose thumbprint is the token's
 * `cnf.jkt`, a valid signature, `htm` and `htu` of this request, `iat` within the window, `ath`
 * of this token, a current server nonce when configured, and a `jti` not seen before.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 RFC 9449 §4.3
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
 */
export async function checkDpopProof(
  proofHeader: string | readonly string[] | undefined,
  method: string | undefined,
  url: string | URL | undefined,
  token: string,
  jkt: string,
  options: ResolvedOptions,
  replay: ReplayGuard,
): Promise<void> {
  const dpop = options.dpop
  if (typeof proofHeader !== 'string')
    throw proofError(
      proofHeader === undefined ? 'A DPoP proof is required' : 'Only one DPoP proof is allowed',
      options,
    )
  if (proofHeader.length > MAX_PROOF_LENGTH || !isCompactJws(proofHeader))
    throw proofError('The DPoP proof is malformed', options)
  const dot1 = proofHeader.indexOf('.')
  const dot2 = proofHeader.lastIndexOf('.')
  const header = decodeJsonObject(proofHeader.slice(0, dot1))
  const payload = decodeJsonObject(proofHeader.slice(dot1 + 1, dot2))
  if (header === undefined || payload === undefined)
    throw proofError('The DPoP proof is malformed', options)
  const { typ, alg, jwk, crit } = header
  if (typ !== 'dpop+jwt') throw proofError('The DPoP proof "typ" must be dpop+jwt', options)
  if (typeof alg !== 'string' || !dpop.algorithms.has(alg))
    throw proofError('The DPoP proof algorithm is not accepted', options)
  if (crit !== undefined) throw proofError('The DPoP proof has an unsupported "crit"', options)
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || 'd' in jwk)
    throw proofError('The DPoP proof "jwk" must be a public key', options)
  const publicJwk = jwk as Record<string, unknown>
  let thumbprint: string
  let params
  try {
    thumbprint = jwkThumbprint(publicJwk)
    params = paramsForKey(
      createPublicKey({ key: publicJwk, format: 'jwk' } as JsonWebKeyInput),
    ).get(alg)
  } catch {
    throw proofError('The DPoP proof "jwk" is invalid', options)
  }
  if (params === undefined) throw proofError('The DPoP proof "jwk" does not match "alg"', options)
  if (thumbprint !== jkt)
    throw new ResourceServerError('ERR_TOKEN_BINDING', {
      description: 'The DPoP proof key is not the key the access token is bound to',
      scheme: 'DPoP',
      algs: dpop.algs,
    })
  const signature = Buffer.from(proofHeader.slice(dot2 + 1), 'base64url')
  if (!(await verifySignature(params, proofHeader.slice(0, dot2), signature)))
    throw proofError('The DPoP proof signature is invalid', options)

  const { jti, htm, htu, iat, ath, nonce } = payload
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    throw proofError('The DPoP proof "jti" is missing or invalid', options)
  if (typeof htm !== 'string' || htm !== method?.toUpperCase())
    throw proofError('The DPoP proof "htm" does not match the request', options)
  const expectedUri = url === undefined ? undefined : targetUri(url)
  if (typeof htu !== 'string' || expectedUri === undefined || targetUri(htu) !== expectedUri)
    throw proofError('The DPoP proof "htu" does not match the request', options)
  const now = Date.now() / 1000
  if (
    typeof iat !== 'number' ||
    iat > now + options.clockTolerance ||
    iat < now - dpop.proofMaxAge - options.clockTolerance
  )
    throw proofError('The DPoP proof "iat" is outside the accepted window', options)
  if (typeof ath !== 'string' || ath !== createHash('sha256').update(token).digest('base64url'))
    throw proofError('The DPoP proof "ath" does not match the access token', options)
  if (dpop.nonceSecret !== undefined) {
    const step = nonceStep(dpop)
    if (
      typeof nonce !== 'string' ||
      (nonce !== dpopNonce(dpop, step) && nonce !== dpopNonce(dpop, step - 1))
    )
      throw new ResourceServerError('ERR_DPOP_NONCE_REQUIRED', {
        scheme: 'DPoP',
        algs: dpop.algs,
        dpopNonce: dpopNonce(dpop, step),
      })
  }
  const recorded = await replay.add(thumbprint, jti, iat)
  if (recorded === 'replayed') throw proofError('The DPoP proof was already used', options)
  if (recorded === 'full') throw proofError('The DPoP proof cannot be accepted now', options)
}
