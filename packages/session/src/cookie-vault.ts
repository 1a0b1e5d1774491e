import { createHash } from 'node:crypto'
import { LruCache } from '@codegrant/internal'
import { AuthError } from './errors.js'
import type { RefreshHandoff } from './refresh-handoff.js'
import {
  ensureSection,
  isObject,
  isOwnedBy,
  isStoredLogin,
  loginSessionLifetime,
  isStoredUser,
  nowSeconds,
  pruneLogins,
  readSection,
  type StoredLogin,
  type StoredUser,
} from './session-record.js'
import {
  createSessionVault,
  type SessionVault,
  type UpdateOutcome,
  type VaultOptions,
  type VaultOwner,
  type VaultSession,
} from './session-vault.js'

/** Options of {@link createCookieVault}: the vault's, plus where refresh results are handed over. */
export interface CookieVaultOptions extends VaultOptions {
  /**
   * The shared "old refresh token hash -> new token set" records, for instances that share a lock
   * (`createRedisRefreshHandoff`). Without it, the records stay in this process.
   */
  readonly handoff?: RefreshHandoff
}

/**
 * How long a refresh result stays available to the requests that still carry the refresh token
 * it rotated out (milliseconds): longer than any wait for the lock, short enough that an old
 * cookie soon stops being worth anything.
 */
export const REFRESH_HANDOFF_TTL_MS = 30_000

const LOCAL_HANDOFFS_MAX = 1000

/**
 * The error a cookie session's `save()` rejects with when the cookie would not fit: `size` and
 * `limit` are the encoded cookie's bytes and the most a browser keeps. Adapters of cookie
 * sessions throw it (and write nothing); {@link createCookieVault} handles it.
 */
export function sessionTooLarge(size: number, limit: number): AuthError {
  return new AuthError(
    'ERR_SESSION_TOO_LARGE',
    `The session cookie would be ${size} bytes, over the ${limit} a browser keeps: nothing was ` +
      'written. Keep fewer claims (afterCallback, fetchUserInfoAtLogin and the scope add them), ' +
      'ask the AS for smaller tokens, or keep sessions server-side (@fastify/session)',
  )
}

/** Whether `err` is the error of {@link sessionTooLarge}. */
function isTooLarge(err: unknown): boolean {
  return err instanceof AuthError && err.code === 'ERR_SESSION_TOO_LARGE'
}

/**
 * This package's section of a cookie session. Unlike a store session's, its records are plain
 * JSON: the whole cookie is encrypted and authenticated by the session plugin
 * (@fastify/secure-session: XSalsa20-Poly1305), and sealing them a second time would cost a third
 * of the cookie's 4096 bytes (base64 inside base64).
 */
interface CookieSection {
  /** The session id: a random value, new at each regenerate (set by the adapter's `save()`). */
  id?: string
  user?: unknown
  logins?: Record<string, unknown>
  silentLoginTried?: true
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

const noStore = (): Promise<never> =>
  Promise.reject(
    new AuthError(
      'ERR_SESSION_REQUIRED',
      'A cookie session has no server-side store: back-channel logout records logged-out sessions instead',
    ),
  )

/**
 * The vault of a login middleware whose sessions live in the browser (an encrypted cookie such as
 * @fastify/secure-session's). The same user records, logins in progress and flows as
 * {@link createSessionVault}, kept as plain JSON in the (encrypted) cookie and written only
 * through `session.save()`, which rejects with `ERR_SESSION_TOO_LARGE` when the cookie would not
 * fit (the adapter measures it).
 *
 * What differs is what a cookie cannot do:
 * - no store to re-read after the lock: a refresh leaves its result under the hash of the refresh
 *   token it rotated out ({@link RefreshHandoff}, sealed with the configured `secret`,
 *   {@link REFRESH_HANDOFF_TTL_MS}), and a request carrying that same old token (a concurrent
 *   request, another instance) takes it instead of refreshing again;
 * - logins in progress are bounded by the cookie's size too: the oldest are dropped until the
 *   cookie fits;
 * - no session can be ended by id (`endSessionById`, `load`, `loadUser` reject): back-channel
 *   logout records the logged-out sessions for each request to check (`logged-out.ts`).
 */
export function createCookieVault(options: CookieVaultOptions): SessionVault {
  // The store vault's pure part: how a user record is built.
  const base = createSessionVault(options)
  const { sessionKey, cipher, handoff } = options
  const local = new LruCache<string, string>(LOCAL_HANDOFFS_MAX)
  // Validated records by object: a request reads its user several times.
  const checked = new WeakMap<object, StoredUser | undefined>()

  const handoffContext = (key: string) => `refresh ${sessionKey} ${key}`
  const handoffKey = (refreshToken: string) =>
    createHash('sha256').update(refreshToken).digest('base64url')

  const withLock = async <T>(sid: string, work: () => Promise<T>): Promise<T> => {
    const release = await options.acquire(sid)
    try {
      return await work()
    } finally {
      await release()
    }
  }

  const sectionOf = (session: VaultSession): CookieSection | undefined =>
    readSection(session.data, sessionKey) as CookieSection | undefined
  const ensure = (session: VaultSession): CookieSection =>
    ensureSection(session.data, sessionKey) as CookieSection

  const userIn = (section: CookieSection | undefined): StoredUser | undefined => {
    const value = section?.user
    if (!isObject(value)) return undefined
    if (checked.has(value)) return checked.get(value)
    const user = isStoredUser(value) ? deepFreeze(value) : undefined
    checked.set(value, user)
    return user
  }

  const loginsIn = (section: CookieSection | undefined): Record<string, StoredLogin> => {
    const out: Record<string, StoredLogin> = {}
    const logins = section?.logins
    if (!isObject(logins)) return out
    for (const [state, value] of Object.entries(logins)) {
      if (isStoredLogin(value) && value.transaction.state === state) out[state] = value
    }
    return out
  }

  const parse = (json: string | undefined): unknown => {
    if (json === undefined) return undefined
    try {
      return JSON.parse(json) as unknown
    } catch {
      return undefined
    }
  }

  /**
   * Writes the cookie; while it would not fit, drops the oldest logins in progress (keeping the
   * `keep` newest), then fails with `ERR_SESSION_TOO_LARGE`.
   */
  const saveFitting = async (session: VaultSession, keep: number): Promise<void> => {
    for (;;) {
      try {
        await session.save()
        return
      } catch (err) {
        const section = sectionOf(session)
        const entries = Object.entries(loginsIn(section))
        if (!isTooLarge(err) || section === undefined || entries.length <= keep) throw err
        if (entries.length === 1) delete section.logins
        else section.logins = Object.fromEntries(entries.slice(1))
      }
    }
  }

  /** Puts `user` in the session and writes the cookie; a cookie too large ends the login. */
  const writeUser = async (session: VaultSession, user: StoredUser): Promise<void> => {
    ensure(session).user = user
    try {
      await saveFitting(session, 0)
    } catch (err) {
      if (isTooLarge(err)) {
        // Fail closed: the cookie the browser keeps must not hold the tokens this request
        // replaced (the refresh token may be rotated out already). A new empty session fits.
        await session.regenerate()
        await session.save()
      }
      throw err
    }
  }

  /** The result a refresh of the same refresh token left, if it is for this login. */
  const handedOver = async (key: string, current: StoredUser): Promise<StoredUser | undefined> => {
    const sealed = local.get(key) ?? (await handoff?.get(key))
    if (sealed === undefined) return undefined
    const value = parse(cipher.decrypt(sealed, handoffContext(key)))
    if (
      !isStoredUser(value) ||
      value.issuer !== current.issuer ||
      value.clientId !== current.clientId ||
      value.loggedInAt !== current.loggedInAt ||
      value.claims.sub !== current.claims.sub ||
      value.tokenVersion <= current.tokenVersion
    ) {
      return undefined
    }
    return value
  }

  const handOver = async (key: string, user: StoredUser): Promise<void> => {
    const sealed = cipher.encrypt(JSON.stringify(user), handoffContext(key))
    local.set(key, sealed, Date.now() + REFRESH_HANDOFF_TTL_MS)
    await handoff?.put(key, sealed, REFRESH_HANDOFF_TTL_MS)
  }

  const vault: SessionVault = {
    sessionKey,
    endsById: false,

    attach() {
      // A cookie session has no store whose writes need guarding: only this request writes it.
    },

    readUser(session, owner) {
      const user = userIn(sectionOf(session))
      return user !== undefined && isOwnedBy(user, owner) ? user : undefined
    },

    holdsLostUser(session) {
      const section = sectionOf(session)
      return section?.user !== undefined && userIn(section) === undefined
    },

    newUser: (owner, tokens, claims, previous, appClaims) =>
      base.newUser(owner, tokens, claims, previous, appClaims),

    async updateUser(session, seen, work) {
      return withLock(session.id, async (): Promise<UpdateOutcome> => {
        const current = userIn(sectionOf(session))
        if (current === undefined || current.loggedInAt !== seen.loggedInAt) {
          return { ended: new AuthError('ERR_SESSION_ENDED', 'The session was ended elsewhere') }
        }
        const refreshToken = current.tokens.refresh_token
        const key = refreshToken === undefined ? undefined : handoffKey(refreshToken)
        if (key !== undefined) {
          // Another request with this cookie (here or on another instance) refreshed while this
          // one waited for the lock: its refresh token is rotated out, take the result.
          const handed = await handedOver(key, current)
          if (handed !== undefined) {
            await writeUser(session, handed)
            return { user: handed }
          }
        }
        const decision = await work(current)
        if ('keep' in decision) return { user: current }
        if ('end' in decision) return { ended: decision.end }
        // The cookie first (should the handoff fail, this browser still gets the new tokens),
        // then the handoff, still under the lock: a request waiting for it finds the result.
        await writeUser(session, decision.write)
        if (key !== undefined) await handOver(key, decision.write)
        return { user: decision.write }
      })
    },

    async logIn(session, user) {
      const remaining = loginsIn(sectionOf(session))
      // Session fixation defence: a new session (new id, the app's data gone too).
      await session.regenerate()
      const section = ensure(session)
      if (Object.keys(remaining).length > 0) section.logins = remaining
      section.user = user
    },

    async endSession(session, how) {
      // Under the session lock, so an in-flight refresh of this cookie finishes first.
      await withLock(session.id, () =>
        how === 'destroy' ? session.destroy() : session.regenerate(),
      )
    },

    endSessionById: () => noStore(),

    async addLogin(session, login) {
      const section = ensure(session)
      const all = { ...loginsIn(section), [login.transaction.state]: login }
      const kept = pruneLogins(all, options.maxLogins, nowSeconds())
      if (kept === undefined) delete section.logins
      else section.logins = kept
      if (userIn(section) === undefined && kept !== undefined) {
        // A cookie holding only logins in progress ends with the last of them.
        session.expireIn(loginSessionLifetime(kept))
      }
      // The cookie bounds the logins in progress too: the oldest go until this one fits.
      await saveFitting(session, 1)
    },

    takeLogin(session, state) {
      const section = sectionOf(session)
      const logins = section?.logins
      if (section === undefined || !isObject(logins) || !Object.hasOwn(logins, state)) {
        return undefined
      }
      const entry = loginsIn(section)[state]
      // Consumed exactly once, whatever happens next (written with the next save).
      delete logins[state]
      if (Object.keys(logins).length === 0) delete section.logins
      return entry
    },

    async save(session) {
      // At the callback: logins of other tabs carried along go first when the user does not fit.
      await saveFitting(session, 0)
    },

    load: () => noStore(),
    loadUser: () => noStore(),
  }
  return Object.freeze(vault)
}
