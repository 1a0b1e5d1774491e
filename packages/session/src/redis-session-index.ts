import { AuthError } from './errors.js'
import type { RedisCommandClient } from './redis-client.js'
import type { SessionIndex } from './session-index.js'

/** Options of {@link createRedisSessionIndex}. */
export interface RedisSessionIndexOptions {
  /** Key prefix. @default 'codegrant:idx:' */
  prefix?: string
}

/**
 * A {@link SessionIndex} in Redis, shared by every instance: one set of session ids per
 * `sid` / `sub` (expiring with the longest session in it) and `SET NX EX` for logout-token `jti`s.
 * Redis errors become `AuthError` `ERR_STORE_UNAVAILABLE` (503).
 *
 * @param client a connected node-redis v5 client.
 */
export function createRedisSessionIndex(
  client: RedisCommandClient,
  options: RedisSessionIndexOptions = {},
): SessionIndex {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('"client" must be a node-redis client')
  }
  const prefix = options.prefix ?? 'codegrant:idx:'
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string')

  const run = async (args: string[]): Promise<unknown> => {
    try {
      return await client.sendCommand(args)
    } catch (cause) {
      throw new AuthError('ERR_STORE_UNAVAILABLE', 'The session index (Redis) is unavailable', {
        cause,
      })
    }
  }

  return Object.freeze({
    async add(keys: readonly string[], sessionId: string, ttl: number): Promise<void> {
      const seconds = String(Math.max(1, Math.ceil(ttl)))
      for (const key of keys) {
        await run(['SADD', prefix + key, sessionId])
        // GT: never shorten the life of a set that holds a longer session.
        await run(['EXPIRE', prefix + key, seconds, 'GT'])
        await run(['EXPIRE', prefix + key, seconds, 'NX'])
      }
    },
    async find(key: string): Promise<string[]> {
      const reply = await run(['SMEMBERS', prefix + key])
      return Array.isArray(reply) ? reply.map(String) : []
    },
    async remove(key: string): Promise<void> {
      await run(['DEL', prefix + key])
    },
    async firstUse(jti: string, ttl: number): Promise<boolean> {
      const seconds = String(Math.max(1, Math.ceil(ttl)))
      const reply = await run(['SET', `${prefix}jti:${jti}`, '1', 'NX', 'EX', seconds])
      return reply === 'OK'
    },
    async forget(jti: string): Promise<void> {
      await run(['DEL', `${prefix}jti:${jti}`])
    },
  })
}
