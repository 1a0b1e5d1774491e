import type { Store } from 'express-session'
import { AuthError } from './errors.js'
import {
  pruneTransactions,
  readSection,
  type SessionLike,
  type StoredTransaction,
} from './session-data.js'

/** Promise versions of the store operations this package needs, bypassing the guard. */
export interface StoreOps {
  get(sid: string): Promise<SessionLike | undefined>
  /** Writes without the guard: only call it while holding the session lock. */
  set(sid: string, session: SessionLike): Promise<void>
  destroy(sid: string): Promise<void>
}

/** What the guard needs from `auth()`'s configuration. */
export interface GuardConfig {
  readonly sessionKey: string
  readonly maxTransactions: number
  /** Takes the session lock (in-process and, when configured, shared). */
  acquire(sid: string): Promise<() => Promise<void>>
}

/**
 * Runs `work` holding the session's lock: every write or destruction of a session that holds
 * tokens goes through it, so an in-flight refresh can never write an older session back.
 */
export async function withSessionLock<T>(
  guard: GuardConfig,
  sessionId: string,
  work: () => Promise<T>,
): Promise<T> {
  const release = await guard.acquire(sessionId)
  try {
    return await work()
  } finally {
    await release()
  }
}

type Callback = (err?: unknown, value?: unknown) => void
type SetFn = (sid: string, session: unknown, callback?: Callback) => unknown

const GUARD = Symbol.for('@codegrant/express.store-guard')

interface Guarded {
  [GUARD]?: { ops: StoreOps; configs: GuardConfig[] }
}

// States consumed (or dropped) by the request that owns a session object: a later write of that
// object must not merge them back in from the stored copy.
const consumed = new WeakMap<object, Set<string>>()

/** Marks a transaction as consumed by this session object (see {@link guardStore}). */
export function markConsumed(session: object, state: string): void {
  let set = consumed.get(session)
  if (set === undefined) consumed.set(session, (set = new Set()))
  set.add(state)
}

function storeError(cause: unknown): AuthError {
  return cause instanceof AuthError
    ? cause
    : new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable', { cause })
}

function promisify<T>(run: (callback: Callback) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const callback: Callback = (err, value) => (err ? reject(storeError(err)) : resolve(value as T))
    try {
      const result = run(callback)
      // Promise-based stores may reject without calling back.
      if (result instanceof Promise) result.catch((err: unknown) => reject(storeError(err)))
    } catch (err) {
      reject(storeError(err))
    }
  })
}

/**
 * Wraps `store.set` (once per store) so that a write of a session that carries a section of ours
 * runs under the session lock and:
 * - never replaces a newer token record with an older one (a stale request's save keeps the
 *   token record that a concurrent refresh stored: the express-session last-write-wins race);
 * - never re-creates a session that was destroyed meanwhile (logout, back-channel logout, ended
 *   grant);
 * - keeps login transactions added by concurrent requests (two tabs), minus those this request
 *   consumed.
 * Sessions without our section are written unchanged, without the lock.
 */
export function guardStore(store: Store, config: GuardConfig): StoreOps {
  const guarded = store as Store & Guarded
  const existing = guarded[GUARD]
  if (existing !== undefined) {
    if (!existing.configs.includes(config)) existing.configs.push(config)
    return existing.ops
  }

  const rawSet = (store.set as SetFn).bind(store)
  const rawGet = (store.get as (sid: string, callback: Callback) => unknown).bind(store)
  const rawDestroy = (store.destroy as (sid: string, callback: Callback) => unknown).bind(store)
  const ops: StoreOps = Object.freeze({
    get: (sid: string) =>
      promisify<SessionLike | undefined>((cb) => rawGet(sid, cb)).then((v) => v ?? undefined),
    set: (sid: string, session: SessionLike) => promisify<void>((cb) => rawSet(sid, session, cb)),
    destroy: (sid: string) => promisify<void>((cb) => rawDestroy(sid, cb)),
  })
  const configs: GuardConfig[] = [config]
  guarded[GUARD] = { ops, configs }

  const guardedWrite = async (sid: string, session: SessionLike): Promise<void> => {
    const mine = configs.filter((c) => readSection(session, c.sessionKey) !== undefined)
    if (mine.length === 0) return ops.set(sid, session)
    const lockConfig = mine[0] as GuardConfig
    const release = await lockConfig.acquire(sid)
    try {
      const stored = await ops.get(sid)
      for (const c of mine) {
        const section = readSection(session, c.sessionKey)
        if (section === undefined) continue
        if (stored === undefined) {
          // Written before and gone now: destroyed meanwhile. Do not bring it back.
          if (section.p === 1) return
        } else {
          const theirs = readSection(stored, c.sessionKey)
          if (
            theirs?.user !== undefined &&
            section.user !== undefined &&
            theirs.user.v > section.user.v
          ) {
            section.user = theirs.user
          }
          if (theirs?.tx !== undefined) {
            const gone = consumed.get(session)
            // Theirs first: entries only they have were added by concurrent requests earlier.
            const merged: Record<string, StoredTransaction> = {}
            for (const [state, entry] of Object.entries(theirs.tx)) {
              if (!Object.hasOwn(section.tx ?? {}, state) && !gone?.has(state))
                merged[state] = entry
            }
            Object.assign(merged, section.tx)
            const pruned = pruneTransactions(
              merged,
              c.maxTransactions,
              Math.floor(Date.now() / 1000),
            )
            if (pruned === undefined) delete section.tx
            else section.tx = pruned
          }
        }
        section.p = 1
      }
      await ops.set(sid, session)
    } finally {
      await release()
    }
  }

  const guardedSet: SetFn = (sid, session, callback) => {
    guardedWrite(sid, session as SessionLike).then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    )
  }
  store.set = guardedSet as Store['set']
  // Store failures reach the app's error handler as a typed 503, also when express-session itself
  // loads or destroys the session.
  const typedErrors =
    (run: (sid: string, callback: Callback) => unknown) =>
    (sid: string, callback?: Callback): void => {
      let called = false
      const once: Callback = (err, value) => {
        if (called) return
        called = true
        callback?.(err ? storeError(err) : undefined, value)
      }
      try {
        const result = run(sid, once)
        if (result instanceof Promise) result.catch((err: unknown) => once(err))
      } catch (err) {
        once(err)
      }
    }
  store.get = typedErrors(rawGet) as Store['get']
  store.destroy = typedErrors(rawDestroy) as Store['destroy']
  return ops
}
