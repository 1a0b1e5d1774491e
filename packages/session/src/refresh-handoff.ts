import { AuthError } from './errors.js'
import type { RedisCommandClient } from './redis-client.js'

/**
 * Where a refresh of a cookie session leaves its result for the other requests that carry the
 * same (now rotated) refresh token: "old refresh token hash -> new token set", encrypted by the
 * caller and expiring after a few seconds. Cookie sessions have no store to re-read after the
 * lock is won, so an instance that lost the lock finds the winner's result here instead of
 * refreshing again with a refresh token the authorization server has rotated out.
 *
 * In-process the cookie vault keeps these records in memory; instances that share a lock
 * ({@link createRedisLock}) need {@link createRedisRefreshHandoff}.
 */
export interface RefreshHandoff {
  /** Keeps `value` under `key` for `ttl` milliseconds. */
  put(key: string, value: string, ttl: number): Promise<void>
  /** The value under `key`, when it is there and has not expired. */
  get(key: string): Promise<string | undefined>
}

/** Options of {@link createRedisRefreshHandoff}. */
export interface RedisRefreshHandoffOptions {
  /** Key prefix. @default 'codegrant:refresh:' */
  prefix?: string
}

/**
 * A {@link RefreshHandoff} in Redis (`SET key value PX ttl`, `GET key`), shared by every
 * instance. Redis errors become `AuthError` `ERR_STORE_UNAVAILABLE` (503). The values it holds
 * are sealed by the caller (AES-256-GCM with the plugin's secret), keys are hashes: Redis sees no
 * token.
 *
 * @param client a connected node-redis v5 client (the one given to {@link createRedisLock}).
 */
export function createRedisRefreshHandoff(
  client: RedisCommandClient,
  options: RedisRefreshHandoffOptions = {},
): RefreshHandoff {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('"client" must be a node-redis client')
  }
  const prefix = options.prefix ?? 'codegrant:refresh:'
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string')

  const run = async (args: string[]): Promise<unknown> => {
    try {
      return await client.sendCommand(args)
    } catch (cause) {
      throw new AuthError('ERR_STORE_UNAVAILABLE', 'The refresh handoff (Redis) is unavailable', {
        cause,
      })
    }
  }

  return Object.freeze({
    async put(key: string, value: string, ttl: number): Promise<void> {
      await run(['SET', prefix + key, value, 'PX', String(Math.max(1, Math.ceil(ttl)))])
    },
    async get(key: string): Promise<string | undefined> {
      const reply = await run(['GET', prefix + key])
      return typeof reply === 'string' ? reply : undefined
    },
  })
}
