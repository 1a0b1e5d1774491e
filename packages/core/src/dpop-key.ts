import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** Signing algorithms a {@link DpopKey} can use. */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'RS256' | 'Ed25519'

const ALGORITHMS: ReadonlySet<string> = new Set<DpopAlgorithm>([
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
export interface DpopKey {
  /** The JWS algorithm of the proofs. */
  alg: DpopAlgorithm
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
export async function createDpopKey(alg: DpopAlgorithm = 'ES256'): Promise<DpopKey> {
  if (!ALGORITHMS.has(alg)) {
    throw new TypeError(`"alg" must be one of ${[...ALGORITHMS].join(', ')}`)
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const [privateJwk, publicJwk] = await Promise.all([exportJWK(privateKey), exportJWK(publicKey)])
  return { alg, privateJwk, publicJwk }
}

/** @internal Asserts a {@link DpopKey}, naming the option or argument. */
export function assertDpopKey(key: unknown, name = 'dpop'): asserts key is DpopKey {
  const k = key as Partial<DpopKey> | null
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
    throw new TypeError(`"${name}" must be a DpopKey as returned by createDpopKey()`)
  }
}

/**
 * Validates the `dpop` client option (a {@link DpopKey}, or undefined for none). Meant for
 * `resolveOptions()`, so a bad key fails at configuration time.
 *
 * @throws TypeError naming `"dpop"`
 * @internal
 */
export function resolveDpopOption(value: unknown): DpopKey | undefined {
  if (value === undefined) return undefined
  assertDpopKey(value)
  return value
}

/**
 * The RFC 7638 SHA-256 thumbprint of a DPoP key's public JWK: the `dpop_jkt` authorization
 * request parameter and the `cnf.jkt` of the tokens bound to the key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-10
 */
export async function getDpopKeyThumbprint(key: DpopKey): Promise<string> {
  assertDpopKey(key)
  return calculateJwkThumbprint(key.publicJwk as JWK, 'sha256')
}
