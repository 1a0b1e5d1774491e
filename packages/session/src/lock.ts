/** Releases a lock taken with {@link SessionLock.acquire}. Safe to call once; never throws for a lost lock. */
export type ReleaseLock = () => Promise<void>

/**
 * A mutual-exclusion lock per key (the key is derived from the session id). `auth()` takes it
 * around every token refresh and every session write that carries tokens, so a refresh and a
 * stale save never interleave.
 *
 * The default ({@link createMemoryLock}) works inside one process. Instances that share a session
 * store need a shared lock: {@link createRedisLock}.
 */
export interface SessionLock {
  /**
   * Waits until the lock for `key` is held by the caller and resolves to its release function.
   * Rejects when the lock cannot be obtained (timeout, backend down).
   */
  acquire(key: string): Promise<ReleaseLock>
}

/**
 * An in-process lock: a FIFO queue of waiters per key. No timeout is needed because a holder
 * always releases in a `finally`.
 */
export function createMemoryLock(): SessionLock {
  const tails = new Map<string, Promise<void>>()
  return Object.freeze({
    async acquire(key: string): Promise<ReleaseLock> {
      const previous = tails.get(key) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((resolve) => {
        release = resolve
      })
      const tail = previous.then(() => mine)
      tails.set(key, tail)
      await previous
      let released = false
      return async () => {
        if (released) return
        released = true
        release()
        if (tails.get(key) === tail) tails.delete(key)
      }
    },
  })
}
