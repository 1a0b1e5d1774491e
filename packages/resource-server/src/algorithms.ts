import { constants, type KeyObject } from 'node:crypto'

/** JWS algorithms verified with a public key. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])

/** JWS algorithms verified with a shared secret. */
export const SYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512'])

/**
 * What `crypto.verify` needs for one (key, algorithm) pair, built once when the key is imported
 * so the hot path allocates nothing for it.
 */
export interface VerifyParams {
  /** The digest name, or null for EdDSA. */
  readonly digest: string | null
  /** The key, with RSA-PSS padding or ECDSA `ieee-p1363` encoding when the algorithm needs it. */
  readonly key:
    | KeyObject
    | { key: KeyObject; padding: number; saltLength: number }
    | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
  /** The exact signature length in bytes, when fixed (ECDSA, EdDSA). */
  readonly signatureLength: number | undefined
}

const CURVE_ALG: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
}
const EC_SIGNATURE_LENGTH: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 }

function digestOf(alg: string): string {
  return `sha${alg.slice(2)}`
}

/** RSASSA-PSS with SHA-`bits`, its salt as long as the digest (RFC 7518 section 3.5). */
function pss(key: KeyObject, bits: string): VerifyParams {
  return Object.freeze({
    digest: `sha${bits}`,
    key: {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    },
    signatureLength: undefined,
  })
}

/**
 * The algorithms a public key can verify, each with its prepared {@link VerifyParams}.
 * RSA keys shorter than 2048 bits get none (RFC 7518 §3.3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RFC 7518 §3.1
 */
export function paramsForKey(key: KeyObject): Map<string, VerifyParams> {
  const out = new Map<string, VerifyParams>()
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails
  if (type === 'rsa') {
    if ((details?.modulusLength ?? 0) < 2048) return out
    for (const bits of ['256', '384', '512']) {
      out.set(`RS${bits}`, Object.freeze({ digest: `sha${bits}`, key, signatureLength: undefined }))
      out.set(`PS${bits}`, pss(key, bits))
    }
  } else if (type === 'rsa-pss') {
    // An RSA-PSS key cannot do PKCS#1 v1.5; its own parameters are enforced by node:crypto.
    if ((details?.modulusLength ?? 0) < 2048) return out
    for (const bits of ['256', '384', '512']) out.set(`PS${bits}`, pss(key, bits))
  } else if (type === 'ec') {
    const alg = CURVE_ALG[details?.namedCurve ?? '']
    if (alg !== undefined)
      out.set(
        alg,
        Object.freeze({
          digest: digestOf(alg),
          key: { key, dsaEncoding: 'ieee-p1363' as const },
          signatureLength: EC_SIGNATURE_LENGTH[alg],
        }),
      )
  } else if (type === 'ed25519') {
    const params = Object.freeze({ digest: null, key, signatureLength: 64 })
    out.set('EdDSA', params)
    out.set('Ed25519', params)
  } else if (type === 'ed448') {
    out.set('EdDSA', Object.freeze({ digest: null, key, signatureLength: 114 }))
  }
  return out
}
