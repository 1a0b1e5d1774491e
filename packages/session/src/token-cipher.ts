import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'

const FORMAT = 'v1'
const INFO = 'codegrant express token encryption v1'
const IV_BYTES = 12
const TAG_BYTES = 16
const KID_BYTES = 6

/** Encrypts and decrypts strings for storage in the session (AES-256-GCM). */
export interface TokenCipher {
  /**
   * Encrypts `plaintext` with the current (first) key. `context` (associated data, e.g. the
   * session id) is authenticated, not stored: decryption needs the same context.
   */
  encrypt(plaintext: string, context?: string): string
  /**
   * Decrypts a value made by `encrypt` with the current or an older key and the same `context`;
   * `undefined` if none fits, the value was edited, or the context differs.
   */
  decrypt(ciphertext: string, context?: string): string | undefined
  /** Whether a configured key made `ciphertext` (so a failed decryption means tampering). */
  knowsKey(ciphertext: string): boolean
}

interface Key {
  readonly kid: string
  readonly key: Buffer
}

/** The associated data: the key id, then the caller's context (length-prefixed, unambiguous). */
function aad(kid: string, context: string | undefined): Buffer {
  return Buffer.from(context === undefined ? kid : `${kid}.${context.length}.${context}`)
}

function deriveKey(secret: string): Key {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), INFO, 32))
  const kid = createHash('sha256').update(key).digest().subarray(0, KID_BYTES).toString('base64url')
  return { kid, key }
}

/**
 * Derives one AES-256 key per secret with HKDF-SHA256 and returns a cipher that encrypts with the
 * first and decrypts with any of them (secret rotation: put the new secret first, keep the old
 * ones after it until every session encrypted with them has ended).
 *
 * Output: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts); the kid selects the key. The
 * associated data is the kid plus the caller's context, so a value moved to another context (a
 * sealed record copied into another session) does not decrypt.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5869 (HKDF)
 */
export function createTokenCipher(secrets: readonly string[]): TokenCipher {
  const keys = secrets.map(deriveKey)
  const current = keys[0]
  if (current === undefined) throw new TypeError('"secret" must be a non-empty string')
  const byKid = new Map(keys.map((k) => [k.kid, k.key]))

  return Object.freeze({
    encrypt(plaintext: string, context?: string): string {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(aad(current.kid, context))
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return [
        FORMAT,
        current.kid,
        iv.toString('base64url'),
        ct.toString('base64url'),
        tag.toString('base64url'),
      ].join('.')
    },
    decrypt(value: string, context?: string): string | undefined {
      const [format, kid, iv, ct, tag] = value.split('.')
      if (
        format !== FORMAT ||
        kid === undefined ||
        iv === undefined ||
        ct === undefined ||
        tag === undefined
      ) {
        return undefined
      }
      const key = byKid.get(kid)
      if (key === undefined) return undefined
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
          authTagLength: TAG_BYTES,
        })
        decipher.setAAD(aad(kid, context))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([
          decipher.update(Buffer.from(ct, 'base64url')),
          decipher.final(),
        ]).toString('utf8')
      } catch {
        return undefined
      }
    },
    knowsKey(value: string): boolean {
      const [format, kid] = value.split('.', 2)
      return format === FORMAT && kid !== undefined && byKid.has(kid)
    },
  })
}
