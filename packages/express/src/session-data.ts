import type { IdTokenClaims, LoginTransaction } from '@codegrant/core'

/** A login in progress, kept in the session under its `state`. */
export interface StoredTransaction {
  /** What `@codegrant/core` needs back at the callback. */
  t: LoginTransaction
  /** Where to go after the login (a checked same-origin path). */
  r: string
  /** The `acr_values` a step-up login asked for (space-separated), checked at the callback. */
  acr?: string
}

/**
 * The logged-in user. Tokens are encrypted (`tok`); the rest is plain so the hot path needs no
 * decryption. `v` grows by one on every refresh: a write carrying an older `v` never replaces a
 * newer record (see the store guard).
 */
export interface UserRecord {
  claims: IdTokenClaims
  /** The encrypted `TokenSet` (JSON). */
  tok: string
  /** Version of the token set. */
  v: number
  /** `expires_at` of the access token (seconds), when known. */
  exp?: number
  /** When the current access token was obtained (seconds). */
  obt: number
  /** Login time (seconds), for the absolute session lifetime. */
  login: number
}

/** Everything this package keeps in `req.session[sessionKey]`. */
export interface SessionSection {
  /** Set once the session has been written with a section: a missing store entry then means "destroyed". */
  p?: 1
  /** Logins in progress, by `state`. */
  tx?: Record<string, StoredTransaction>
  user?: UserRecord
}

export type SessionLike = Record<string, unknown>

/** Reads the section from a session (or a stored session object), if it looks like one. */
export function readSection(session: unknown, key: string): SessionSection | undefined {
  if (session === null || typeof session !== 'object') return undefined
  const section = (session as SessionLike)[key]
  return section !== null && typeof section === 'object' ? (section as SessionSection) : undefined
}

/** Returns the session's section, creating an empty one. */
export function ensureSection(session: SessionLike, key: string): SessionSection {
  const existing = readSection(session, key)
  if (existing !== undefined) return existing
  const section: SessionSection = {}
  session[key] = section
  return section
}

/**
 * Drops expired transactions and keeps only the `max` newest (oldest dropped first).
 * Returns the pruned map, or `undefined` when it is empty.
 */
export function pruneTransactions(
  tx: Record<string, StoredTransaction> | undefined,
  max: number,
  now: number,
): Record<string, StoredTransaction> | undefined {
  if (tx === undefined) return undefined
  // Newest first: by creation time, then by insertion order (later wins a tie).
  const live = Object.entries(tx)
    .filter(([, entry]) => entry.t.expires_at > now)
    .reverse()
  live.sort(([, a], [, b]) => b.t.created_at - a.t.created_at)
  const kept = live.slice(0, max)
  // Stored oldest first, so insertion order stays chronological.
  return kept.length === 0 ? undefined : Object.fromEntries(kept.reverse())
}

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
