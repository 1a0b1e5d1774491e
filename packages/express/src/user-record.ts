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

/** Decrypts the token set of a record; `undefined` when no configured secret opens it. */
export function openTokens(cipher: TokenCipher, user: UserRecord): TokenSet | undefined {
  const json = cipher.decrypt(user.tok)
  if (json === undefined) return undefined
  try {
    const tokens = JSON.parse(json) as TokenSet
    return typeof tokens.access_token === 'string' ? tokens : undefined
  } catch {
    return undefined
  }
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
