/**
 * Finds the sessions of a user for OpenID Connect Back-Channel Logout: an index from the ID
 * token's `sid` and `sub` (per issuer) to session ids, plus a memory of logout-token `jti`s so a
 * replayed logout token is refused.
 *
 * The default ({@link createMemorySessionIndex}) works inside one process; instances that share a
 * session store need {@link createRedisSessionIndex}.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions
 */
export interface SessionIndex {
  /** Records that session `sessionId` belongs to `keys` for `ttl` seconds. */
  add(keys: readonly string[], sessionId: string, ttl: number): Promise<void>
  /** The session ids recorded under `key`. */
  find(key: string): Promise<string[]>
  /** Forgets `key` entirely. */
  remove(key: string): Promise<void>
  /** `true` the first time `jti` is seen within `ttl` seconds, `false` for a replay. */
  firstUse(jti: string, ttl: number): Promise<boolean>
  /**
   * Forgets a `jti` recorded by {@link SessionIndex.firstUse}: called when the logout it carried
   * could not be completed, so that the OP's retry with the same token is not refused as a replay.
   */
  forget(jti: string): Promise<void>
}

/** The index key of a `sid` / `sub` (issuer included: the same sid from two issuers differs). */
export function indexKey(kind: 'sid' | 'sub', issuer: string, value: string): string {
  return `${kind}:${issuer} ${value}`
}

const PRUNE_EVERY = 256

/** An in-process {@link SessionIndex}; entries expire with their ttl. */
export function createMemorySessionIndex(): SessionIndex {
  const entries = new Map<string, Map<string, number>>()
  const jtis = new Map<string, number>()
  let writes = 0

  const prune = (now: number): void => {
    for (const [key, sessions] of entries) {
      for (const [id, exp] of sessions) if (exp <= now) sessions.delete(id)
      if (sessions.size === 0) entries.delete(key)
    }
    for (const [jti, exp] of jtis) if (exp <= now) jtis.delete(jti)
  }
  const tick = (now: number): void => {
    writes += 1
    if (writes % PRUNE_EVERY === 0) prune(now)
  }

  return Object.freeze({
    async add(keys: readonly string[], sessionId: string, ttl: number): Promise<void> {
      const now = Date.now()
      for (const key of keys) {
        let sessions = entries.get(key)
        if (sessions === undefined) entries.set(key, (sessions = new Map()))
        sessions.set(sessionId, now + ttl * 1000)
      }
      tick(now)
    },
    async find(key: string): Promise<string[]> {
      const now = Date.now()
      const sessions = entries.get(key)
      if (sessions === undefined) return []
      return [...sessions].filter(([, exp]) => exp > now).map(([id]) => id)
    },
    async remove(key: string): Promise<void> {
      entries.delete(key)
    },
    async firstUse(jti: string, ttl: number): Promise<boolean> {
      const now = Date.now()
      const exp = jtis.get(jti)
      if (exp !== undefined && exp > now) return false
      jtis.set(jti, now + ttl * 1000)
      tick(now)
      return true
    },
    async forget(jti: string): Promise<void> {
      jtis.delete(jti)
    },
  })
}
