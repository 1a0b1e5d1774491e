// A minimal callback-style session store with the semantics the vault relies on in
// express-session's MemoryStore and @fastify/session's store: entries kept as JSON (a read
// returns a fresh copy), `undefined` for a missing or expired entry, asynchronous callbacks, and
// a `touch` that moves the stored expiry. No framework dependency.
import type { SessionData, SessionStore } from '../../src/index.js'

type Callback = (err?: unknown, value?: unknown) => void

/** When a stored session expires (ms since the epoch), from its cookie; `undefined`: never. */
function expiryOf(session: SessionData): number | undefined {
  const expires = (session.cookie as { expires?: unknown } | undefined)?.expires
  if (expires === undefined || expires === null) return undefined
  const at = new Date(expires as string).getTime()
  return Number.isFinite(at) ? at : undefined
}

/** An in-memory {@link SessionStore}: the store the vault tests run against. */
export class JsonMemoryStore implements SessionStore {
  private readonly sessions = new Map<string, string>()

  get(sid: string, callback: Callback): void {
    const json = this.sessions.get(sid)
    let value: SessionData | undefined
    if (json !== undefined) {
      value = JSON.parse(json) as SessionData
      const expiry = expiryOf(value)
      if (expiry !== undefined && expiry <= Date.now()) {
        this.sessions.delete(sid)
        value = undefined
      }
    }
    setImmediate(() => callback(undefined, value))
  }

  set(sid: string, session: SessionData, callback?: Callback): void {
    this.sessions.set(sid, JSON.stringify(session))
    setImmediate(() => callback?.())
  }

  destroy(sid: string, callback?: Callback): void {
    this.sessions.delete(sid)
    setImmediate(() => callback?.())
  }

  touch(sid: string, session: SessionData, callback?: Callback): void {
    const json = this.sessions.get(sid)
    if (json !== undefined) {
      const stored = JSON.parse(json) as SessionData
      stored.cookie = session.cookie
      this.sessions.set(sid, JSON.stringify(stored))
    }
    setImmediate(() => callback?.())
  }
}
