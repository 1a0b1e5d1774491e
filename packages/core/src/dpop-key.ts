import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** Signing algorithms a {@link DPoPKey} can use. */
export type DPoPAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'RS256' | 'Ed25519'

const ALGORITHMS: ReadonlySet<string> = new Set<DPoPAlgorithm>([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'RS256',
  'Ed25519',
])

/**
 * A DPoP key pair as plain JSON (JWKs), so it can live in configuration or beside a token set
 * in a session. The private JWK is a secret: keep it where the tokens it protects are not
 * (for example, one key per application, loaded from a secret store), so that a leaked session
 * store yields tokens nobody can use.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-2
 */
export interface DPoPKey {
  /** The JWS algorithm of the proofs. */
  alg: DPoPAlgorithm
  /** The private key, as a JWK. */
  privateJwk: JWK
  /** The public key, as a JWK (sent in every proof's header). */
  publicJwk: JWK
}

/**
 * Creates a new DPoP key pair.
 *
 * @param alg the proof signing algorithm. @default 'ES256'
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export async function createDPoPKey(alg: DPoPAlgorithm = 'ES256'): Promise<DPoPKey> {
  if (!ALGORITHMS.has(alg)) {
    throw new TypeError(`"alg" must be one of ${[...ALGORITHMS].join(', ')}`)
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const [privateJwk, publicJwk] = await Promise.all([exportJWK(privateKey), exportJWK(publicKey)])
  return { alg, privateJwk, publicJwk }
}

/** @internal Asserts a {@link DPoPKey}, naming the option or argument. */
export function assertDPoPKey(key: unknown, name = 'dpop'): asserts key is DPoPKey {
  const k = key as Partial<DPoPKey> | null
  if (
    typeof k !== 'object' ||
    k === null ||
    typeof k.alg !== 'string' ||
    !ALGORITHMS.has(k.alg) ||
    typeof k.privateJwk !== 'object' ||
    k.privateJwk === null ||
    typeof k.publicJwk !== 'object' ||
    k.publicJwk === null ||
    'd' in k.publicJwk
  ) {
    throw new TypeError(`"${name}" must be a DPoPKey as returned by createDPoPKey()`)
  }
}

/**
 * Validates the `dpop` client option (a {@link DPoPKey}, or undefined for none). Meant for
 * `resolveOptions()`, so a bad key fails at configuration time.
 *
 * @throws TypeError naming `"dpop"`
 * @internal
 */
export function resolveDPoPOption(value: unknown): DPoPKey | undefined {
  if (value === undefined) return undefined
  assertDPoPKey(value)
  return value
}

/**
 * The RFC 7638 SHA-256 thumbprint of a DPoP key's public JWK: the `dpop_jkt` authorization
 * request parameter and the `cnf.jkt` of the tokens bound to the key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-10
 */
export async function getDPoPKeyThumbprint(key: DPoPKey): Promise<string> {
  assertDPoPKey(key)
  return calculateJwkThumbprint(key.publicJwk as JWK, 'sha256')
}
