// Signing keys, their JWKS, and RFC 9068 JWT access tokens minted with node:crypto.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { promisify } from 'node:util'

const signAsync = promisify(sign)

/** The audience every benchmark token carries and every server expects. */
export const AUDIENCE = 'https://api.bench.example'
/** The scope every benchmark token carries. */
export const SCOPE = 'read:messages write:messages'

/**
 * @typedef {'RS256' | 'ES256'} Alg
 * @typedef {{ alg: Alg, kid: string, privateKey: import('node:crypto').KeyObject, jwk: Record<string, unknown> }} SigningKey
 */

/**
 * Generates one signing key per algorithm.
 * @returns {Record<Alg, SigningKey>}
 */
export function generateSigningKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    RS256: toSigningKey('RS256', 'bench-rs256', rsa),
    ES256: toSigningKey('ES256', 'bench-es256', ec),
  }
}

/**
 * @param {Alg} alg
 * @param {string} kid
 * @param {{ privateKey: import('node:crypto').KeyObject, publicKey: import('node:crypto').KeyObject }} pair
 * @returns {SigningKey}
 */
function toSigningKey(alg, kid, pair) {
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  return { alg, kid, privateKey: pair.privateKey, jwk }
}

/**
 * The public JWK Set of the given keys.
 * @param {SigningKey[]} keys
 */
export function toJwks(keys) {
  return { keys: keys.map((k) => k.jwk) }
}

/** @param {unknown} value */
function b64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * A minter of RFC 9068 access tokens (typ at+jwt; iss, aud, sub, scope, exp, iat, jti, client_id).
 * Each token is distinct (jti and sub differ).
 * @param {{ key: SigningKey, issuer: string, lifetimeSeconds?: number }} options
 */
export function createMinter({ key, issuer, lifetimeSeconds = 3600 }) {
  const header = b64url({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
  const signOptions =
    key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey
  const prefix = randomBytes(6).toString('base64url')
  let counter = 0

  /** @param {number} i */
  function signingInput(i) {
    const iat = Math.floor(Date.now() / 1000)
    const payload = {
      iss: issuer,
      aud: AUDIENCE,
      sub: `user-${i}`,
      client_id: 'bench-client',
      scope: SCOPE,
      iat,
      exp: iat + lifetimeSeconds,
      jti: `${prefix}-${i}`,
    }
    return `${header}.${b64url(payload)}`
  }

  return {
    /** Mints one token synchronously. */
    mintSync() {
      const input = signingInput(counter++)
      const sig = sign('sha256', Buffer.from(input), signOptions)
      return `${input}.${sig.toString('base64url')}`
    },
    /**
     * Mints `count` tokens on the libuv thread pool (all cores), in batches.
     * @param {number} count
     * @returns {Promise<string[]>}
     */
    async mint(count) {
      /** @type {string[]} */
      const out = []
      const batch = 512
      for (let done = 0; done < count; done += batch) {
        const n = Math.min(batch, count - done)
        const inputs = Array.from({ length: n }, () => signingInput(counter++))
        const sigs = await Promise.all(
          inputs.map((input) => signAsync('sha256', Buffer.from(input), signOptions)),
        )
        for (let j = 0; j < n; j++) out.push(`${inputs[j]}.${sigs[j].toString('base64url')}`)
      }
      return out
    },
  }
}

/**
 * A growable pool of never-reused tokens. Each server process sees each token at most once:
 * a fresh server starts at the beginning of the pool, so one pool serves every contender.
 * @param {ReturnType<typeof createMinter>} minter
 */
export function createTokenPool(minter) {
  /** @type {string[]} */
  const tokens = []
  return {
    get size() {
      return tokens.length
    },
    /** @param {number} count */
    async ensure(count) {
      if (count <= tokens.length) return
      for (const token of await minter.mint(count - tokens.length)) tokens.push(token)
    },
    /** A cursor that hands out tokens in order, and notes when it ran past the end. */
    cursor() {
      let next = 0
      return {
        take() {
          const token = tokens[next % tokens.length]
          next++
          return /** @type {string} */ (token)
        },
        get used() {
          return next
        },
        get exhausted() {
          return next > tokens.length
        },
      }
    },
  }
}
