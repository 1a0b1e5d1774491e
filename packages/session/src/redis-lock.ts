import { numberOption } from '@codegrant/internal'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { AuthError } from './errors.js'
import type { ReleaseLock, SessionLock } from './lock.js'
import type { RedisCommandClient } from './redis-client.js'

/** Options of {@link createRedisLock}. */
export interface RedisLockOptions {
  /** Key prefix. @default 'codegrant:lock:' */
  prefix?: string
  /**
   * Milliseconds after which a lock held by a crashed holder expires. A live holder extends it
   * (every third of `ttl`) while it holds it, up to 4 × `ttl` in all (60 s by default: well over
   * a worst-case refresh, discovery plus token request at @codegrant/core's 5 s default timeout
   * each; raise `ttl` with the client's `timeout`), so a slow refresh never outlives its lock and
   * a hung holder still lets go.
   * @default 15000
   */
  ttl?: number
  /** Milliseconds to wait for the lock before giving up with `ERR_STORE_UNAVAILABLE`. @default 15000 */
  waitTimeout?: number
  /** Milliseconds between attempts while waiting. @default 20 */
  retryDelay?: number
}

// Delete the key only when it still holds our token: a lock that expired and was taken by another
// holder is never released by us.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
// Extend the key's life only while it still holds our token.
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`

// A live holder keeps the lock at most this many ttls in all.
const MAX_HOLD_TTLS = 4

/**
 * A lock shared by every instance that uses the same Redis: `SET key token NX PX ttl` to take it,
 * a Lua compare-and-`PEXPIRE` every `ttl / 3` to keep it while the holder works (at most
 * 4 × `ttl`, so it expires when the holder died or hung), a Lua compare-and-delete to release it
 * (only by its owner). Redis errors become `AuthError` `ERR_STORE_UNAVAILABLE` (503).
 *
 * @param client a connected node-redis v5 client (`createClient({ url })`); give it
 *   `disableOfflineQueue: true` so commands fail fast while Redis is down.
 * @see https://redis.io/docs/latest/commands/set/
 */
export function createRedisLock(
  client: RedisCommandClient,
  options: RedisLockOptions = {},
): SessionLock {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('"client" must be a node-redis client')
  }
  const prefix = options.prefix ?? 'codegrant:lock:'
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string')
  const ttl = numberOption(options.ttl, 'ttl', 15_000, { above: 0 })
  const waitTimeout = numberOption(options.waitTimeout, 'waitTimeout', 15_000, { above: 0 })
  const retryDelay = numberOption(options.retryDelay, 'retryDelay', 20, { above: 0 })

  return Object.freeze({
    async acquire(key: string): Promise<ReleaseLock> {
      const redisKey = prefix + key
      const token = randomBytes(16).toString('base64url')
      const deadline = Date.now() + waitTimeout
      for (;;) {
        let reply: unknown
        try {
          reply = await client.sendCommand(['SET', redisKey, token, 'NX', 'PX', String(ttl)])
        } catch (cause) {
          throw new AuthError('ERR_STORE_UNAVAILABLE', 'The session lock (Redis) is unavailable', {
            cause,
          })
        }
        if (reply === 'OK') break
        if (Date.now() >= deadline) {
          throw new AuthError('ERR_STORE_UNAVAILABLE', 'Timed out waiting for the session lock')
        }
        await sleep(retryDelay)
      }
      let released = false
      let extending = false
      const holdUntil = Date.now() + MAX_HOLD_TTLS * ttl
      const timer = setInterval(
        () => {
          if (released || extending) return
          const left = Math.min(ttl, holdUntil - Date.now())
          if (left <= 0) {
            clearInterval(timer)
            return
          }
          extending = true
          client
            .sendCommand(['EVAL', EXTEND, '1', redisKey, token, String(Math.ceil(left))])
            .then((extended) => {
              // Lost (expired during a Redis outage and taken): stop; the refresh write-back
              // compares versions, so a stale holder cannot clobber a newer token set.
              if (extended !== 1) clearInterval(timer)
            })
            .catch(() => undefined)
            .finally(() => {
              extending = false
            })
        },
        Math.max(1, Math.floor(ttl / 3)),
      )
      timer.unref()
      return async () => {
        if (released) return
        released = true
        clearInterval(timer)
        try {
          await client.sendCommand(['EVAL', RELEASE, '1', redisKey, token])
        } catch {
          // The lock expires after its ttl anyway.
        }
      }
    },
  })
}
