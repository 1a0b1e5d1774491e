import type { IdTokenClaims, TokenSet } from '@codegrant/core'
import { LruCache } from '@codegrant/internal'
import { withAppClaims } from './after-callback.js'
import { AuthError } from './errors.js'
import {
  ensureSection,
  isOwnedBy,
  isStoredLogin,
  loginSessionLifetime,
  isStoredUser,
  nowSeconds,
  pruneLogins,
  readSection,
  type AuthSection,
  type SessionData,
  type StoredLogin,
  type StoredUser,
} from './session-record.js'
import type { TokenCipher } from './token-cipher.js'

type Callback = (err?: unknown, value?: unknown) => void

/**
 * The callback-style session store the vault talks to: the shape express-session's `Store`
 * (MemoryStore, connect-redis, ...) and @fastify/session's `SessionStore` share. `get` calls back
 * with the stored session (`undefined` or `null` when there is none); `touch` is optional, as in
 * both. A method may also return a promise instead of calling back. The vault wraps `get`, `set`,
 * `destroy` and `touch` once per store ({@link SessionVault.attach}).
 */
export interface SessionStore {
  get(sid: string, callback: Callback): unknown
  set(sid: string, session: SessionData, callback?: Callback): unknown
  destroy(sid: string, callback?: Callback): unknown
  touch?(sid: string, session: SessionData, callback?: Callback): unknown
}

/**
 * The current request's session, as the framework adapter exposes it to the vault: a live view,
 * so after `regenerate()`, `id` and `data` are the new session's.
 *
 * - express-session: `id` = `req.sessionID`, `data` = `req.session`, `store` = `req.sessionStore`,
 *   `save` / `regenerate` / `destroy` = the callback methods of `req.session`, `expireIn` sets
 *   `req.session.cookie.maxAge`.
 * - @fastify/session: `id` = `request.session.sessionId`, `data` = `request.session`, `store` =
 *   `request.sessionStore`, the promise forms of `save()` / `regenerate()` / `destroy()`,
 *   `expireIn` sets `request.session.cookie.expires` (not `maxAge`, which `regenerate()` carries
 *   over to the new session).
 *
 * Failures of `save`, `regenerate` and `destroy` should reject with `AuthError`
 * `ERR_STORE_UNAVAILABLE` (the vault's own store calls already do).
 */
export interface VaultSession {
  /** The session id (the store key). */
  readonly id: string
  /** The session's data object; the vault keeps its section under `sessionKey` in it. */
  readonly data: SessionData
  /** The store this session lives in. */
  readonly store: SessionStore
  /** Saves `data` through the store (the vault's guarded write). */
  save(): Promise<void>
  /** Destroys the session in the store and starts a new, empty one with a new id. */
  regenerate(): Promise<void>
  /** Destroys the session in the store; the request has no session afterwards. */
  destroy(): Promise<void>
  /** Makes the session (cookie and store entry) expire in `seconds` from now. */
  expireIn(seconds: number): void
}

/** Takes the session lock (in-process and, when configured, shared); resolves to its release. */
export type AcquireLock = (sid: string) => Promise<() => Promise<void>>

/** What a vault needs from the login middleware's configuration. */
export interface VaultOptions {
  readonly sessionKey: string
  readonly maxLogins: number
  readonly cipher: TokenCipher
  readonly acquire: AcquireLock
  /**
   * Seconds between two forwarded `store.touch` calls of one session (rolling expiry):
   * `0` forwards every touch.
   */
  readonly touchAfter: number
  /** Told when a sealed record does not open with a configured key (edited, or moved between sessions). */
  readonly onTampered?: (what: 'user record' | 'login in progress') => void
}

/** The router a vault works for: the issuer and client of its `@codegrant/core` client. */
export interface VaultOwner {
  readonly issuer: string
  readonly clientId: string
}

/** What {@link SessionVault.updateUser}'s `work` decides for the user record it is given. */
export type UserUpdate = { write: StoredUser } | { keep: true } | { end: unknown }

/** The outcome of {@link SessionVault.updateUser}. */
export type UpdateOutcome = { user: StoredUser } | { ended: unknown }

/**
 * The one place that reads and writes this package's data in a session and talks to the store
 * and the lock. Framework adapters (the Express router, its handlers and `req.auth`) and the
 * flows of this package go through it only.
 */
export interface SessionVault {
  readonly sessionKey: string
  /**
   * Whether a session can be ended by its id (it lives in a server-side store), so the login
   * indexes it for back-channel logout. `false` for sessions kept in a cookie, which back-channel
   * logout ends by recording the logged-out `sid` / `sub` instead.
   */
  readonly endsById: boolean
  /** Wraps the store (once) so that every write of a session goes through the vault's guard. */
  attach(store: SessionStore): void
  /** The logged-in user of the session, when it belongs to `owner` (no I/O). */
  readUser(session: VaultSession, owner?: VaultOwner): StoredUser | undefined
  /**
   * Whether the session holds a user record that does not open (sealed with a secret no longer
   * configured, edited, or moved from another session): a login that is lost.
   */
  holdsLostUser(session: VaultSession): boolean
  /**
   * Builds the user record of a fresh login or of a refresh of `previous`. `appClaims`
   * (afterCallback's, by default those of `previous`) are kept in the record and set over `claims`.
   */
  newUser(
    owner: VaultOwner,
    tokens: TokenSet,
    claims: IdTokenClaims,
    previous?: StoredUser,
    appClaims?: Readonly<Record<string, unknown>>,
  ): StoredUser
  /**
   * Updates the user under the session lock: re-reads the stored session, calls `work` with
   * the stored user (unless it was logged out or replaced by another login meanwhile), then
   * writes only a record that changed, and only if the stored session was neither destroyed
   * nor updated by someone else while `work` ran. The request's session adopts the result.
   */
  updateUser(
    session: VaultSession,
    seen: StoredUser,
    work: (current: StoredUser) => Promise<UserUpdate>,
  ): Promise<UpdateOutcome>
  /** Logs the user in: a new session id (fixation defence), other logins carried along (resealed). */
  logIn(session: VaultSession, user: StoredUser): Promise<void>
  /** Ends the session under the lock: `destroy` (logout) or `regenerate` (a new empty session). */
  endSession(session: VaultSession, how: 'destroy' | 'regenerate'): Promise<void>
  /** Ends a session by id in the store under the lock (back-channel logout). */
  endSessionById(store: SessionStore, sid: string): Promise<void>
  /** Records a login in progress and saves the session. */
  addLogin(session: VaultSession, login: StoredLogin): Promise<void>
  /** Takes the login in progress for `state` out of the session (consumed exactly once). */
  takeLogin(session: VaultSession, state: string): StoredLogin | undefined
  /** Saves the session (the guarded write). */
  save(session: VaultSession): Promise<void>
  /** The stored session of `sid`, read past the request's copy. */
  load(store: SessionStore, sid: string): Promise<SessionData | undefined>
  /** The user record of the stored session `sid` (no lock), if it has one that opens. */
  loadUser(store: SessionStore, sid: string): Promise<StoredUser | undefined>
}

function storeError(cause: unknown): AuthError {
  return cause instanceof AuthError
    ? cause
    : new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable', { cause })
}

/**
 * Calls a callback-style store method (also a promise-returning one) and reports its outcome to
 * `done` exactly once, failures as `AuthError` `ERR_STORE_UNAVAILABLE`.
 */
function invoke(run: (callback: Callback) => unknown, done: Callback): void {
  let settled = false
  const callback: Callback = (err, value) => {
    if (settled) return
    settled = true
    if (err) done(storeError(err))
    else done(undefined, value)
  }
  try {
    const result = run(callback)
    if (result instanceof Promise) result.catch((err: unknown) => callback(err ?? new Error()))
  } catch (err) {
    callback(err)
  }
}

/** Calls a callback-style store method once, as a promise. */
function call<T>(run: (callback: Callback) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    invoke(run, (err, value) => (err ? reject(err as Error) : resolve(value as T)))
  })
}

/** The unguarded store operations, for the vault's own use under the lock. */
interface RawStore {
  get(sid: string): Promise<SessionData | undefined>
  set(sid: string, session: SessionData): Promise<void>
  destroy(sid: string): Promise<void>
}

/** What the store guard needs of a vault: its options and how it opens and seals records. */
interface SectionCodec {
  readonly options: VaultOptions
  openUser(sealed: unknown, sid: string): StoredUser | undefined
  openLogins(section: AuthSection, sid: string): Record<string, StoredLogin>
  sealLogins(
    logins: Record<string, StoredLogin> | undefined,
    sid: string,
  ): Record<string, string> | undefined
}

interface Guard {
  readonly raw: RawStore
  /** The vaults writing through this store, by session key (the first one's lock is used). */
  readonly vaults: Map<string, SectionCodec>
  /** The smallest `touchAfter` of those vaults, in milliseconds. */
  touchAfterMs: number
}

const GUARD = Symbol.for('@codegrant/express.session-vault')
const TOUCHES_MAX = 10_000

// Logins consumed (or dropped) by the request that owns a session object: a later write of that
// object must not merge them back in from the stored copy.
const consumed = new WeakMap<object, Set<string>>()

function markConsumed(session: object, state: string): void {
  let set = consumed.get(session)
  if (set === undefined) consumed.set(session, (set = new Set()))
  set.add(state)
}

/** Whether a session holds nothing but this package's section (and express-session's cookie). */
function onlyOurs(session: SessionData, key: string): boolean {
  return Object.keys(session).every((k) => k === key || k === 'cookie')
}

/**
 * Wraps the store's `set`, `get`, `destroy` and `touch` once per store:
 * - `set` of a session that carries a section runs under the session lock and never replaces a
 *   newer user record with an older one (the express-session last-write-wins race), never
 *   re-creates a session destroyed meanwhile, and keeps logins added by concurrent requests
 *   (two tabs) minus those this request consumed;
 * - `touch` (rolling expiry) reaches the store at most once per `touchAfter` seconds per session;
 * - failures become `AuthError` `ERR_STORE_UNAVAILABLE`.
 * Sessions without a section are written unchanged, without the lock.
 */
function guardStore(store: SessionStore, codec: SectionCodec): Guard {
  const key = codec.options.sessionKey
  const target = store as SessionStore & { [GUARD]?: Guard }
  const existing = target[GUARD]
  if (existing !== undefined) {
    if (!existing.vaults.has(key)) {
      existing.vaults.set(key, codec)
      existing.touchAfterMs = Math.min(existing.touchAfterMs, codec.options.touchAfter * 1000)
    }
    return existing
  }
  const rawGet = store.get.bind(store)
  const rawSet = store.set.bind(store)
  const rawDestroy = store.destroy.bind(store)
  const rawTouch = store.touch?.bind(store)
  const raw: RawStore = Object.freeze({
    get: (sid: string) =>
      call<SessionData | null | undefined>((cb) => rawGet(sid, cb)).then((v) => v ?? undefined),
    set: (sid: string, session: SessionData) => call<void>((cb) => rawSet(sid, session, cb)),
    destroy: (sid: string) => call<void>((cb) => rawDestroy(sid, cb)),
  })
  const vaults = new Map([[key, codec]])
  const guard: Guard = { raw, vaults, touchAfterMs: codec.options.touchAfter * 1000 }
  target[GUARD] = guard

  // When each session's expiry was last pushed to the store (ms), for the touch throttle.
  const touched = new LruCache<string, number>(TOUCHES_MAX)
  const remember = (sid: string, at: number): void => {
    // Only the touch throttle reads it: a store without `touch` keeps nothing.
    if (rawTouch === undefined) return
    touched.set(sid, at)
  }

  const guardedWrite = async (sid: string, session: SessionData): Promise<void> => {
    const mine = [...vaults.values()].filter(
      (v) => readSection(session, v.options.sessionKey) !== undefined,
    )
    const first = mine[0]
    if (first === undefined) {
      await raw.set(sid, session)
      remember(sid, Date.now())
      return
    }
    const release = await first.options.acquire(sid)
    try {
      const stored = await raw.get(sid)
      // What is written is a copy: the request's own session object stays as express-session
      // hashed it at save(), so the end of the request does not save it a second time.
      const out: SessionData = { ...session }
      for (const vault of mine) {
        const key = vault.options.sessionKey
        const section: AuthSection = { ...(readSection(session, key) as AuthSection) }
        out[key] = section
        // Written before and gone now: destroyed meanwhile (logout, back-channel logout, ended
        // grant). Do not bring it back.
        if (stored === undefined && section.persisted === true) return
        const theirs = stored === undefined ? undefined : readSection(stored, key)
        const theirUser = vault.openUser(theirs?.user, sid)
        const myUser = vault.openUser(section.user, sid)
        // A stale save never replaces a newer token record (same login, higher version).
        if (
          theirUser !== undefined &&
          myUser !== undefined &&
          theirUser.loggedInAt === myUser.loggedInAt &&
          theirUser.tokenVersion > myUser.tokenVersion
        ) {
          section.user = theirs?.user as string
        }
        if (theirs?.logins !== undefined) {
          const gone = consumed.get(session)
          const mineLogins = vault.openLogins(section, sid)
          // Theirs first: entries only they have were added by concurrent requests earlier.
          const merged: Record<string, StoredLogin> = {}
          for (const [state, entry] of Object.entries(vault.openLogins(theirs, sid))) {
            if (!Object.hasOwn(mineLogins, state) && gone?.has(state) !== true)
              merged[state] = entry
          }
          Object.assign(merged, mineLogins)
          const pruned = pruneLogins(merged, vault.options.maxLogins, nowSeconds())
          const sealed = vault.sealLogins(pruned, sid)
          if (sealed === undefined) delete section.logins
          else section.logins = sealed
        }
        section.persisted = true
      }
      await raw.set(sid, out)
      remember(sid, Date.now())
    } finally {
      await release()
    }
  }

  store.set = (sid: string, session: SessionData, callback?: Callback): void => {
    guardedWrite(sid, session).then(
      () => callback?.(),
      (err: unknown) => callback?.(storeError(err)),
    )
  }
  // Called back directly (no promise in between): this read is on every request's path.
  store.get = (sid: string, callback: Callback): void => {
    invoke(
      (cb) => rawGet(sid, cb),
      (err, found) => {
        if (err) {
          callback(err)
          return
        }
        const value = (found ?? undefined) as SessionData | undefined
        // The store entry was written with this expiry: a touch is not due before touchAfter.
        const cookie = value?.cookie as { expires?: unknown; originalMaxAge?: unknown } | undefined
        if (
          rawTouch !== undefined &&
          typeof cookie?.originalMaxAge === 'number' &&
          cookie.expires != null
        ) {
          const writtenAt = new Date(cookie.expires as string).getTime() - cookie.originalMaxAge
          if (Number.isFinite(writtenAt) && writtenAt > (touched.get(sid) ?? 0))
            remember(sid, writtenAt)
        }
        callback(undefined, value)
      },
    )
  }
  store.destroy = (sid: string, callback?: Callback): void => {
    touched.delete(sid)
    raw.destroy(sid).then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    )
  }
  if (rawTouch !== undefined) {
    store.touch = (sid: string, session: SessionData, callback?: Callback): void => {
      const now = Date.now()
      if (now - (touched.get(sid) ?? 0) < guard.touchAfterMs) {
        callback?.()
        return
      }
      remember(sid, now)
      call<void>((cb) => rawTouch(sid, session, cb)).then(
        () => callback?.(),
        (err: unknown) => callback?.(err),
      )
    }
  }
  return guard
}

const CACHE_MAX = 1000

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/**
 * Creates the vault of one login middleware. {@link createContext} makes it from the resolved
 * options; adapters rarely call this directly.
 */
export function createSessionVault(options: VaultOptions): SessionVault {
  const { sessionKey, cipher } = options
  // Opened user records by session id: the hot path of an authenticated request neither
  // decrypts nor parses. An entry serves only the exact sealed value it was opened from.
  const opened = new LruCache<string, { sealed: string; user: StoredUser | undefined }>(CACHE_MAX)

  const userContext = (sid: string) => `user ${sessionKey} ${sid}`
  const loginContext = (sid: string, state: string) => `login ${sessionKey} ${sid} ${state}`

  const remember = (sid: string, sealed: string, user: StoredUser | undefined): void => {
    opened.set(sid, { sealed, user })
  }

  /** Opens a sealed value; one made with a configured key that does not open is reported. */
  const unseal = (
    sealed: string,
    context: string,
    what: 'user record' | 'login in progress',
  ): unknown => {
    const json = cipher.decrypt(sealed, context)
    if (json === undefined) {
      if (cipher.knowsKey(sealed)) options.onTampered?.(what)
      return undefined
    }
    try {
      return JSON.parse(json) as unknown
    } catch {
      return undefined
    }
  }

  const openUser = (sealed: unknown, sid: string): StoredUser | undefined => {
    if (typeof sealed !== 'string') return undefined
    const hit = opened.get(sid)
    if (hit !== undefined && hit.sealed === sealed) return hit.user
    const value = unseal(sealed, userContext(sid), 'user record')
    const user = isStoredUser(value) ? deepFreeze(value) : undefined
    remember(sid, sealed, user)
    return user
  }

  const sealUser = (user: StoredUser, sid: string): string => {
    const sealed = cipher.encrypt(JSON.stringify(user), userContext(sid))
    remember(sid, sealed, deepFreeze(user))
    return sealed
  }

  const openLogins = (section: AuthSection, sid: string): Record<string, StoredLogin> => {
    const out: Record<string, StoredLogin> = {}
    const logins: unknown = section.logins
    if (logins === null || typeof logins !== 'object') return out
    for (const [state, sealed] of Object.entries(logins)) {
      if (typeof sealed !== 'string') continue
      const value = unseal(sealed, loginContext(sid, state), 'login in progress')
      if (isStoredLogin(value) && value.transaction.state === state) out[state] = value
    }
    return out
  }

  const sealLogins = (
    logins: Record<string, StoredLogin> | undefined,
    sid: string,
  ): Record<string, string> | undefined => {
    if (logins === undefined) return undefined
    const out: Record<string, string> = {}
    for (const [state, login] of Object.entries(logins)) {
      out[state] = cipher.encrypt(JSON.stringify(login), loginContext(sid, state))
    }
    return out
  }

  const codec: SectionCodec = { options, openUser, openLogins, sealLogins }
  const rawOf = (store: SessionStore): RawStore => guardStore(store, codec).raw

  const withLock = async <T>(sid: string, work: () => Promise<T>): Promise<T> => {
    const release = await options.acquire(sid)
    try {
      return await work()
    } finally {
      await release()
    }
  }

  /** Puts a user record sealed for this session into the request's copy. */
  const adopt = (session: VaultSession, sealed: string): void => {
    const section = readSection(session.data, sessionKey)
    if (section !== undefined) section.user = sealed
  }

  const vault: SessionVault = {
    sessionKey,
    endsById: true,

    attach(store) {
      guardStore(store, codec)
    },

    readUser(session, owner) {
      const section = readSection(session.data, sessionKey)
      const user = section === undefined ? undefined : openUser(section.user, session.id)
      return user !== undefined && isOwnedBy(user, owner) ? user : undefined
    },

    holdsLostUser(session) {
      const sealed = readSection(session.data, sessionKey)?.user
      return sealed !== undefined && openUser(sealed, session.id) === undefined
    },

    newUser(owner, tokens, claims, previous, appClaims = previous?.appClaims) {
      const now = nowSeconds()
      const user: StoredUser = {
        // afterCallback's claims, set over every new claim set (login and each refresh).
        claims: withAppClaims(claims, appClaims),
        issuer: owner.issuer,
        clientId: owner.clientId,
        tokens,
        tokenVersion: previous === undefined ? 1 : previous.tokenVersion + 1,
        tokensObtainedAt: now,
        loggedInAt: previous?.loggedInAt ?? now,
      }
      if (typeof tokens.expires_at === 'number') user.accessTokenExpiresAt = tokens.expires_at
      if (appClaims !== undefined) user.appClaims = appClaims
      return user
    },

    async updateUser(session, seen, work) {
      const sid = session.id
      const raw = rawOf(session.store)
      const gone = { ended: new AuthError('ERR_SESSION_ENDED', 'The session was ended elsewhere') }
      return withLock(sid, async (): Promise<UpdateOutcome> => {
        // Re-read: another request or instance may have updated (and rotated the refresh token)
        // since this request loaded the session.
        const stored = await raw.get(sid)
        const storedSealed = readSection(stored, sessionKey)?.user
        const current = openUser(storedSealed, sid)
        if (current === undefined || current.loggedInAt !== seen.loggedInAt) return gone
        const decision = await work(current)
        if ('keep' in decision) {
          adopt(session, storedSealed as string)
          return { user: current }
        }
        if ('end' in decision) {
          await raw.destroy(sid)
          return { ended: decision.end }
        }
        // Write back only over the record `work` started from, and never bring back a session
        // destroyed meanwhile (by an instance that lost the lock): re-read it first.
        const latest = await raw.get(sid)
        const latestSection = readSection(latest, sessionKey)
        const latestUser = openUser(latestSection?.user, sid)
        if (latest === undefined || latestSection === undefined || latestUser === undefined) {
          return gone
        }
        if (latestUser.tokenVersion !== current.tokenVersion) {
          // Someone else wrote a token set meanwhile: theirs is the one the store keeps.
          adopt(session, latestSection.user as string)
          return { user: latestUser }
        }
        const sealed = sealUser(decision.write, sid)
        latestSection.user = sealed
        await raw.set(sid, latest)
        adopt(session, sealed)
        return { user: decision.write }
      })
    },

    async logIn(session, user) {
      const before = readSection(session.data, sessionKey)
      const remaining = before === undefined ? {} : openLogins(before, session.id)
      await session.regenerate()
      // Sealed again: the new session id is part of every record's associated data.
      const section = ensureSection(session.data, sessionKey)
      const logins = sealLogins(
        Object.keys(remaining).length === 0 ? undefined : remaining,
        session.id,
      )
      if (logins !== undefined) section.logins = logins
      section.user = sealUser(user, session.id)
    },

    async endSession(session, how) {
      // Under the session lock, so an in-flight refresh finishes first (and then finds the
      // session gone) instead of writing it back.
      await withLock(session.id, () =>
        how === 'destroy' ? session.destroy() : session.regenerate(),
      )
    },

    async endSessionById(store, sid) {
      const raw = rawOf(store)
      await withLock(sid, () => raw.destroy(sid))
    },

    async addLogin(session, login) {
      const section = ensureSection(session.data, sessionKey)
      const all = { ...openLogins(section, session.id), [login.transaction.state]: login }
      const pruned = pruneLogins(all, options.maxLogins, nowSeconds())
      // Dropped ones stay dropped even if a concurrent request's copy still has them.
      for (const state of Object.keys(all)) {
        if (pruned === undefined || !Object.hasOwn(pruned, state)) markConsumed(session.data, state)
      }
      const sealed = sealLogins(pruned, session.id)
      if (sealed === undefined) delete section.logins
      else section.logins = sealed
      if (
        openUser(section.user, session.id) === undefined &&
        pruned !== undefined &&
        onlyOurs(session.data, sessionKey)
      ) {
        // A session that holds only logins in progress ends with the last of them.
        session.expireIn(loginSessionLifetime(pruned))
      }
      await vault.save(session)
    },

    takeLogin(session, state) {
      const section = readSection(session.data, sessionKey)
      const logins = section?.logins
      if (section === undefined || logins === undefined || !Object.hasOwn(logins, state)) {
        return undefined
      }
      const entry = openLogins({ logins: { [state]: logins[state] as string } }, session.id)[state]
      // Consumed exactly once, whatever happens next (also when it does not open).
      delete logins[state]
      if (Object.keys(logins).length === 0) delete section.logins
      markConsumed(session.data, state)
      return entry
    },

    async save(session) {
      rawOf(session.store)
      await session.save()
    },

    load(store, sid) {
      return rawOf(store).get(sid)
    },

    async loadUser(store, sid) {
      const stored = await rawOf(store).get(sid)
      return openUser(readSection(stored, sessionKey)?.user, sid)
    },
  }
  return Object.freeze(vault)
}
