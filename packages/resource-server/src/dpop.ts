import { createHash, createHmac, createPublicKey, type JsonWebKeyInput } from 'node:crypto'
import { paramsForKey } from './algorithms.js'
import { ResourceServerError } from './errors.js'
import { decodeJsonObject, isCompactJws, verifySignature } from './jws.js'
import type { ResolvedDpop, ResolvedOptions } from './options.js'

const MAX_PROOF_LENGTH = 8192
const MAX_JTI_LENGTH = 128

/**
 * Remembers DPoP proof `jti`s for at least the proof window, in two generations rotated once per
 * window, so a proof can be used once.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1 RFC 9449 §11.1
 */
export class ReplayCache {
  private current = new Map<string, Set<string>>()
  private previous = new Map<string, Set<string>>()
  private currentSize = 0
  private previousSize = 0
  private rotatedAt = Date.now()

  /**
   * @param windowMs how long a `jti` is remembered (at least)
   * @param maxEntries memory bound: past it, new proofs are refused until the window rotates
   *   (fail closed: forgetting a `jti` early would allow a replay)
   * @param maxEntriesPerKey bound for the proofs of one key (one `jkt`), so that a single
   *   client cannot fill the cache and lock every other client out
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 500_000,
    private readonly maxEntriesPerKey = Math.max(1, Math.floor(maxEntries / 20)),
  ) {}

  /**
   * Records `jti` of a proof signed by the key `jkt`: 'replayed' when seen within the window,
   * 'full' when no room is left (for this key, or at all).
   */
  add(jkt: string, jti: string): 'ok' | 'replayed' | 'full' {
    const now = Date.now()
    if (now - this.rotatedAt >= this.windowMs) {
      const keepCurrent = now - this.rotatedAt < 2 * this.windowMs
      this.previous = keepCurrent ? this.current : new Map()
      this.previousSize = keepCurrent ? this.currentSize : 0
      this.current = new Map()
      this.currentSize = 0
      this.rotatedAt = now
    }
    const mine = this.current.get(jkt)
    const before = this.previous.get(jkt)
    if (mine?.has(jti) || before?.has(jti)) return 'replayed'
    if (this.currentSize + this.previousSize >= this.maxEntries) return 'full'
    if ((mine?.size ?? 0) + (before?.size ?? 0) >= this.maxEntriesPerKey) return 'full'
    if (mine) mine.add(jti)
    else this.current.set(jkt, new Set([jti]))
    this.currentSize++
    return 'ok'
  }
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
  replay: ReplayCache,
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
  const recorded = replay.add(thumbprint, jti)
  if (recorded === 'replayed') throw proofError('The DPoP proof was already used', options)
  if (recorded === 'full') throw proofError('The DPoP proof cannot be accepted now', options)
}
