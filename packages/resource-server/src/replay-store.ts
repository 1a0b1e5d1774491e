/**
 * Shared memory of one-time values (DPoP proof `jti`s) for several instances of an API behind
 * a load balancer. `add` must be atomic: of two instances adding the same key at once, exactly
 * one is told it was new.
 */
export interface ReplayStore {
  /**
   * Records `key` for at least `ttlMs` milliseconds. Resolves `true` when it was not recorded
   * yet, `false` when it was (a replay). Rejects when the store cannot answer: the proof is then
   * refused with 503 (fail closed).
   */
  add(key: string, ttlMs: number): Promise<boolean>
}

/**
 * The one Redis command the store needs, as node-redis v4/v5 (`redis` on npm) spells it: `SET key
 * value NX PX ttl`, resolving `'OK'` when set and `null` when the key exists. With ioredis, pass
 * `{ set: (k, v, o) => client.set(k, v, 'PX', o.PX, 'NX') }`.
 */
export interface RedisSetClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<unknown>
}

/** Options of {@link createRedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** Prefix of every key. @default 'codegrant:dpop:' */
  prefix?: string
  /**
   * Milliseconds to wait for Redis before refusing the proof with 503. A client that queues
   * commands while disconnected (node-redis's offline queue) would otherwise hold the request.
   *
   * @default 1000
   */
  timeout?: number
}

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
}

/**
 * A {@link ReplayStore} on Redis: one `SET <prefix><key> 1 NX PX <ttl>` per proof. Several
 * instances sharing the Redis (and the prefix) refuse a proof any of them has accepted. Use a
 * Redis with `maxmemory-policy noeviction` (or a `volatile-*` policy with room): an evicted key
 * would let its proof be replayed.
 *
 * @example
 * const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
 * await redis.connect()
 * createVerifier({ issuer, audience, dpop: { replayStore: createRedisReplayStore(redis) } })
 * @see https://redis.io/docs/latest/commands/set/
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1 RFC 9449 §11.1
 */
export function createRedisReplayStore(
  client: RedisSetClient,
  options: RedisReplayStoreOptions = {},
): ReplayStore {
  if (typeof client?.set !== 'function') throw new TypeError('"client" must have a set() method')
  const prefix = options.prefix ?? 'codegrant:dpop:'
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string')
  const timeout = options.timeout ?? 1000
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
    throw new TypeError('"timeout" must be a positive number')
  return Object.freeze({
    async add(key: string, ttlMs: number): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreTimeoutError('Redis did not answer')), timeout)
      })
      try {
        const reply = await Promise.race([
          client.set(prefix + key, '1', { NX: true, PX: Math.max(1, Math.ceil(ttlMs)) }),
          expired,
        ])
        return reply === 'OK'
      } finally {
        clearTimeout(timer)
      }
    },
  })
}
