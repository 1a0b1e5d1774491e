import type { IdTokenClaims, LoginTransaction, TokenSet } from '@codegrant/core'

/**
 * What this package keeps in a session, under `req.session[sessionKey]`. The user record and
 * each login in progress are sealed (AES-256-GCM, the session id in the associated data): a
 * record edited in the store or copied into another session does not open and reads as "no
 * login". Anything else (an older layout) reads as "no login" too.
 */
export interface AuthSection {
  /** Set once the session was written with this section: a missing store entry then means "destroyed". */
  persisted?: true
  /** Logins in progress, by `state`: each a sealed {@link StoredLogin}. */
  logins?: Record<string, string>
  /** The logged-in user, a sealed {@link StoredUser}. */
  user?: string
  /**
   * Set once this session made its silent login attempt (`attemptSilentLogin`), or logged out:
   * no other attempt is made in it. Not sealed: clearing it gives at most one more attempt.
   */
  silentLoginTried?: true
}

/** A login in progress: the core transaction plus what the callback checks besides it. */
export interface StoredLogin {
  /** What `@codegrant/core` needs back at the callback (PKCE verifier, nonce, redirect URI, ...). */
  transaction: LoginTransaction
  /** The issuer the authorization request went to (RFC 9700 section 4.4.2, mix-up defence). */
  issuer: string
  /** The client the request was made for. */
  clientId: string
  /** Where to go after the login (a checked same-origin path). */
  returnTo: string
  /** The `acr_values` a step-up login asked for (space-separated), checked at the callback. */
  acrValues?: string
  /** A silent login (`prompt=none`): its "login needed" errors return the browser to `returnTo`. */
  silent?: true
}

/**
 * The logged-in user (the plaintext of the sealed record; opened once per process and record,
 * so the hot path of an authenticated request does not decrypt).
 */
export interface StoredUser {
  /** The ID token claims (completed from UserInfo and `afterCallback` when configured). */
  claims: IdTokenClaims
  /** What `afterCallback` returned at login: set again over the claims of each new ID token. */
  appClaims?: Record<string, unknown>
  /** The issuer and client the user logged in with (several `auth()` routers may share a session). */
  issuer: string
  clientId: string
  /** The tokens. */
  tokens: TokenSet
  /** Grows by one at every token update: a write carrying an older version never replaces a newer one. */
  tokenVersion: number
  /** `expires_at` of the access token (seconds since the epoch), when known. */
  accessTokenExpiresAt?: number
  /** When the current tokens were obtained (seconds since the epoch). */
  tokensObtainedAt: number
  /** When the user logged in (seconds since the epoch), for the absolute session lifetime. */
  loggedInAt: number
}

/** A session as stored (an express-session or @fastify/session session, or its JSON from the store). */
export type SessionData = Record<string, unknown>

/** Whether `v` is a plain JSON object (not `null`, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0

/** Whether a stored value is a user record of the current layout. */
export function isStoredUser(value: unknown): value is StoredUser {
  return (
    isObject(value) &&
    isObject(value.claims) &&
    isString(value.claims.sub) &&
    isString(value.issuer) &&
    isString(value.clientId) &&
    isObject(value.tokens) &&
    isString(value.tokens.access_token) &&
    isNumber(value.tokenVersion) &&
    isNumber(value.tokensObtainedAt) &&
    isNumber(value.loggedInAt) &&
    (value.accessTokenExpiresAt === undefined || isNumber(value.accessTokenExpiresAt)) &&
    (value.appClaims === undefined || isObject(value.appClaims))
  )
}

/** Whether a stored value is a login transaction of the current layout. */
export function isStoredLogin(value: unknown): value is StoredLogin {
  return (
    isObject(value) &&
    isObject(value.transaction) &&
    isString(value.transaction.state) &&
    isNumber(value.transaction.expires_at) &&
    isNumber(value.transaction.created_at) &&
    isString(value.issuer) &&
    isString(value.clientId) &&
    isString(value.returnTo)
  )
}

/**
 * The section of a session (or of a stored session object), or `undefined`. A section of an
 * older layout (fields `tx`, `p`, `user.tok`, `user.v`) holds nothing the vault opens: those
 * sessions are treated as logged out.
 */
export function readSection(session: unknown, key: string): AuthSection | undefined {
  if (!isObject(session)) return undefined
  const section = session[key]
  return isObject(section) ? (section as AuthSection) : undefined
}

/** Whether the session made its silent login attempt already ({@link AuthSection.silentLoginTried}). */
export function triedSilentLogin(session: SessionData, key: string): boolean {
  return readSection(session, key)?.silentLoginTried === true
}

/** Marks the session as having made its silent login attempt. */
export function markSilentLoginTried(session: SessionData, key: string): void {
  ensureSection(session, key).silentLoginTried = true
}

/** Returns the session's section, creating an empty one. */
export function ensureSection(session: SessionData, key: string): AuthSection {
  const existing = readSection(session, key)
  if (existing !== undefined) return existing
  const section: AuthSection = {}
  session[key] = section
  return section
}

/**
 * Drops expired or malformed logins and keeps only the `max` newest (oldest dropped first).
 * Returns the pruned map, or `undefined` when it is empty.
 */
export function pruneLogins(
  logins: Record<string, StoredLogin> | undefined,
  max: number,
  now: number,
): Record<string, StoredLogin> | undefined {
  if (logins === undefined) return undefined
  // Newest first: by creation time, then by insertion order (later wins a tie).
  const live = Object.entries(logins)
    .filter(([, entry]) => isStoredLogin(entry) && entry.transaction.expires_at > now)
    .reverse()
  live.sort(([, a], [, b]) => b.transaction.created_at - a.transaction.created_at)
  const kept = live.slice(0, max)
  // Stored oldest first, so insertion order stays chronological.
  return kept.length === 0 ? undefined : Object.fromEntries(kept.reverse())
}

/**
 * Whether the access token should be refreshed now: within `margin` seconds of its expiry, the
 * margin capped at half the token's lifetime (a 60 s token is not refreshed on every call).
 */
export function needsRefresh(user: StoredUser, now: number, margin: number): boolean {
  const exp = user.accessTokenExpiresAt
  if (exp === undefined) return false
  const lifetime = Math.max(0, exp - user.tokensObtainedAt)
  return now >= exp - Math.min(margin, lifetime / 2)
}

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** Whether `user` logged in through `owner` (any owner when `owner` is `undefined`). */
export function isOwnedBy(
  user: StoredUser,
  owner: { readonly issuer: string; readonly clientId: string } | undefined,
): boolean {
  return owner === undefined || (user.issuer === owner.issuer && user.clientId === owner.clientId)
}

// Seconds a session holding only logins in progress outlives the last of them.
const LOGIN_SESSION_GRACE = 60

/**
 * Seconds a session that holds only the logins in progress `logins` (at least one) should live:
 * until the last of them expires, plus a minute so a late callback still learns that its login
 * expired. Anonymous /login requests thus cannot fill a store (or keep a cookie) for a day.
 */
export function loginSessionLifetime(logins: Readonly<Record<string, StoredLogin>>): number {
  const last = Math.max(...Object.values(logins).map((l) => l.transaction.expires_at))
  return Math.max(1, last - nowSeconds()) + LOGIN_SESSION_GRACE
}
