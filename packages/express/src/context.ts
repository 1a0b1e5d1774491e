import type { Request } from 'express'
import type { Store } from 'express-session'
import type { ResolvedConfig } from './options.js'
import type { UserRecord } from './session-data.js'
import { guardStore, type GuardConfig, type StoreOps } from './store-guard.js'

const RECENT_GRACE_MS = 30_000
const RECENT_MAX = 10_000

/** The runtime state of one `auth()` router. */
export interface AuthContext {
  readonly config: ResolvedConfig
  readonly guard: GuardConfig
  /** Token records refreshed in this process lately, by session id (a grace window for latecomers). */
  readonly recent: Map<string, { user: UserRecord; until: number }>
  /** Set once a request arrived with `req.session`: a later request without it means the store failed. */
  sawSession: boolean
}

/** Takes the in-process lock for the session, then the shared one when configured. */
function acquirer(config: ResolvedConfig): (sid: string) => Promise<() => Promise<void>> {
  return async (sid) => {
    const key = `sess:${sid}`
    const releaseLocal = await config.localLock.acquire(key)
    if (config.lock === config.localLock) return releaseLocal
    try {
      const releaseShared = await config.lock.acquire(key)
      return async () => {
        try {
          await releaseShared()
        } finally {
          await releaseLocal()
        }
      }
    } catch (err) {
      await releaseLocal()
      throw err
    }
  }
}

export function createContext(config: ResolvedConfig): AuthContext {
  return {
    config,
    guard: Object.freeze({
      sessionKey: config.sessionKey,
      maxTransactions: config.maxTransactions,
      acquire: acquirer(config),
    }),
    recent: new Map(),
    sawSession: false,
  }
}

/** Remembers a refreshed record for the grace window. */
export function rememberRefresh(ctx: AuthContext, sid: string, user: UserRecord): void {
  const now = Date.now()
  if (ctx.recent.size >= RECENT_MAX) {
    for (const [key, entry] of ctx.recent) if (entry.until <= now) ctx.recent.delete(key)
    if (ctx.recent.size >= RECENT_MAX) ctx.recent.clear()
  }
  ctx.recent.set(sid, { user, until: now + RECENT_GRACE_MS })
}

/** A record refreshed in this process within the grace window, if any. */
export function recentRefresh(ctx: AuthContext, sid: string): UserRecord | undefined {
  const entry = ctx.recent.get(sid)
  if (entry === undefined) return undefined
  if (entry.until <= Date.now()) {
    ctx.recent.delete(sid)
    return undefined
  }
  return entry.user
}

/** The store operations for the request's session store (guarding the store on first use). */
export function storeOps(ctx: AuthContext, req: Request): StoreOps {
  return guardStore(req.sessionStore as Store, ctx.guard)
}

const CONTEXT = Symbol.for('@codegrant/express.context')

interface WithContext {
  [CONTEXT]?: { ctx: AuthContext; base: string }
}

/** Attaches the router's context to the request (for guards mounted elsewhere). */
export function attachContext(req: Request, ctx: AuthContext, base: string): void {
  ;(req as Request & WithContext)[CONTEXT] = { ctx, base }
}

/** The context of the `auth()` router the request went through, if any. */
export function contextOf(req: Request): { ctx: AuthContext; base: string } | undefined {
  return (req as Request & WithContext)[CONTEXT]
}
