import type { TokenSet } from './types.js'

/**
 * Whether the access token of `tokens` has expired, or will within `marginSeconds`.
 * A token set without `expires_at` is never considered expired (the AS did not say).
 *
 * @param marginSeconds refresh this many seconds early. @default 30
 * @param now seconds since the epoch. @default the current time
 */
export function isExpired(
  tokens: Pick<TokenSet, 'expires_at'>,
  marginSeconds = 30,
  now: number = Date.now() / 1000,
): boolean {
  if (typeof marginSeconds !== 'number' || !Number.isFinite(marginSeconds) || marginSeconds < 0) {
    throw new TypeError('"marginSeconds" must be a non-negative number')
  }
  if (tokens.expires_at === undefined) return false
  return tokens.expires_at - marginSeconds <= now
}
