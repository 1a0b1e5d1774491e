import type { IdTokenClaims, TokenSet } from '@codegrant/core'
import type { UserRecord } from './session-data.js'
import type { TokenCipher } from './token-cipher.js'

/** Builds the session's user record: tokens encrypted, the rest plain. */
export function sealUser(
  cipher: TokenCipher,
  tokens: TokenSet,
  claims: IdTokenClaims,
  now: number,
  previous?: UserRecord,
): UserRecord {
  const user: UserRecord = {
    claims,
    tok: cipher.encrypt(JSON.stringify(tokens)),
    v: previous === undefined ? 1 : previous.v + 1,
    obt: now,
    login: previous?.login ?? now,
  }
  if (typeof tokens.expires_at === 'number') user.exp = tokens.expires_at
  return user
}

const CACHE_MAX = 500
const caches = new WeakMap<TokenCipher, Map<string, TokenSet>>()

/**
 * Decrypts the token set of a record; `undefined` when no configured secret opens it.
 * Recently opened records are kept (by ciphertext, bounded) so the hot path of an authenticated
 * request does not pay for AES-GCM and JSON parsing on every request. The result is frozen.
 */
export function openTokens(cipher: TokenCipher, user: UserRecord): TokenSet | undefined {
  let cache = caches.get(cipher)
  if (cache === undefined) caches.set(cipher, (cache = new Map()))
  const hit = cache.get(user.tok)
  if (hit !== undefined) return hit
  const json = cipher.decrypt(user.tok)
  if (json === undefined) return undefined
  let tokens: TokenSet
  try {
    tokens = JSON.parse(json) as TokenSet
  } catch {
    return undefined
  }
  if (typeof tokens?.access_token !== 'string') return undefined
  Object.freeze(tokens)
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(user.tok, tokens)
  return tokens
}

/**
 * Whether the access token should be refreshed now: within `margin` seconds of its expiry, the
 * margin capped at half the token's lifetime (a 60 s token is not refreshed on every call).
 */
export function needsRefresh(user: UserRecord, now: number, margin: number): boolean {
  if (user.exp === undefined) return false
  const lifetime = Math.max(0, user.exp - user.obt)
  return now >= user.exp - Math.min(margin, lifetime / 2)
}
