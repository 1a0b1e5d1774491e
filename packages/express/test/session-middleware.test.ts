// sessionMiddleware() against express-session itself: the same request sequences, for every
// combination of the options that steer the end of a request (resave, saveUninitialized,
// rolling, unset, a store with or without touch, a cookie with or without maxAge), must produce
// the same responses, the same Set-Cookie decisions and attributes, the same store calls and
// the same stored data.
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import express, { type Request, type RequestHandler } from 'express'
import session from 'express-session'
import { afterAll, describe, expect, it } from 'vitest'
import { sessionMiddleware, type SessionMiddlewareOptions } from '../src/index.js'

const SECRET = 'session-middleware-test-secret-0123456789'

type Log = string[]

/** A cookie's maxAge in whole seconds (it is computed from a time, so milliseconds drift). */
const seconds = (ms: unknown): string =>
  typeof ms === 'number' ? `${Math.round(ms / 1000)}s` : String(ms)

/** A MemoryStore that records its calls (sids replaced by the order they first appeared in). */
class SpyStore extends session.MemoryStore {
  readonly log: Log = []
  private readonly ids = new Map<string, string>()
  label(sid: string): string {
    let l = this.ids.get(sid)
    if (l === undefined) this.ids.set(sid, (l = `#${this.ids.size + 1}`))
    return l
  }
  override get(sid: string, cb: (err: unknown, s?: session.SessionData | null) => void): void {
    this.log.push(`get ${this.label(sid)}`)
    super.get(sid, cb)
  }
  override set(sid: string, s: session.SessionData, cb?: (err?: unknown) => void): void {
    const { cookie, ...data } = s
    this.log.push(
      `set ${this.label(sid)} ${JSON.stringify(data)} maxAge=${seconds(cookie.originalMaxAge)}`,
    )
    super.set(sid, s, cb)
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.log.push(`destroy ${this.label(sid)}`)
    super.destroy(sid, cb)
  }
  override touch(sid: string, s: session.SessionData, cb?: () => void): void {
    this.log.push(`touch ${this.label(sid)}`)
    super.touch(sid, s, cb)
  }
  /** The stored sessions, by label, without the cookie's expiry (a time). */
  dump(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const all = (this as unknown as { sessions: Record<string, string> }).sessions
    for (const [sid, json] of Object.entries(all)) {
      const { cookie, ...data } = JSON.parse(json) as { cookie: Record<string, unknown> }
      out[this.label(sid)] = {
        ...data,
        cookie: {
          ...cookie,
          expires: cookie.expires != null,
          originalMaxAge: seconds(cookie.originalMaxAge),
        },
      }
    }
    return out
  }
}

type S = Record<string, unknown> & session.Session

const done =
  (res: express.Response, body = 'ok') =>
  (err?: unknown) => {
    if (err) res.status(500).send('error')
    else res.send(body)
  }

/** The routes the scenarios call: each touches the session in one way. */
function routes(app: express.Express): void {
  const sess = (req: Request) => req.session as unknown as S
  app.get('/noop', (_req, res) => void res.send('ok'))
  app.get('/read', (req, res) => void res.send(String(sess(req).n ?? 'none')))
  app.get('/set', (req, res) => {
    sess(req).n = Number(sess(req).n ?? 0) + 1
    res.send('ok')
  })
  app.get('/same', (req, res) => {
    sess(req).n = sess(req).n as number
    sess(req).obj = { ...(sess(req).obj as object) }
    res.send('ok')
  })
  app.get('/nested', (req, res) => {
    const obj = (sess(req).obj ??= { a: { b: 1, list: [1, 'x'] } }) as {
      a: { b: number; list: unknown[] }
    }
    obj.a.b += 1
    res.send('ok')
  })
  app.get('/list', (req, res) => {
    const obj = (sess(req).obj ??= { a: { b: 1, list: [1, 'x'] } }) as { a: { list: unknown[] } }
    obj.a.list.push(null)
    res.send('ok')
  })
  app.get('/undefined', (req, res) => {
    sess(req).gone = undefined
    res.send('ok')
  })
  app.get('/date', (req, res) => {
    sess(req).at = new Date(Number(sess(req).n ?? 0) * 1000)
    res.send('ok')
  })
  app.get('/cookie', (req, res) => {
    req.session.cookie.maxAge = 5000
    res.send('ok')
  })
  app.get('/regenerate', (req, res) => {
    req.session.regenerate((err) => {
      if (!err) sess(req).fresh = true
      done(res)(err)
    })
  })
  app.get('/destroy', (req, res) => req.session.destroy(done(res)))
  app.get('/unset', (req, res) => {
    ;(req as { session: unknown }).session = null
    res.send('ok')
  })
  app.get('/save', (req, res) => {
    sess(req).saved = true
    req.session.save(done(res))
  })
  app.get('/save-then-change', (req, res) => {
    sess(req).saved = true
    req.session.save(() => {
      sess(req).after = true
      res.send('ok')
    })
  })
  app.get('/reload', (req, res) => {
    sess(req).lost = true
    req.session.reload((err) => done(res, String(sess(req).lost ?? 'reloaded'))(err))
  })
  app.get('/stream', (req, res) => {
    res.write('a')
    sess(req).late = true
    res.end('b')
  })
  app.get('/status', (req, res) => {
    sess(req).n = 7
    res.status(204).end()
  })
}

interface Running {
  readonly url: string
  readonly store: SpyStore
  readonly server: Server
}

const servers: Server[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
})

async function start(
  make: (store: SpyStore) => RequestHandler,
  withTouch: boolean,
  store = new SpyStore(),
): Promise<Running> {
  if (!withTouch) Object.defineProperty(store, 'touch', { value: undefined })
  const app = express()
  app.use(make(store))
  routes(app)
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store, server }
}

/** A response as compared: status, body, and the Set-Cookie line with its value blanked. */
async function call(app: Running, path: string, cookie: string | undefined) {
  const res = await fetch(app.url + path, { headers: cookie === undefined ? {} : { cookie } })
  const body = await res.text()
  const lines = res.headers.getSetCookie()
  const setCookie = lines.map((l) =>
    l
      .replace(/^([^=]+)=[^;]*/, '$1=<value>')
      .replace(/Expires=[^;]+/, 'Expires=<date>')
      .replace(/Max-Age=\d+/, 'Max-Age=<n>'),
  )
  const next = lines[0]?.split(';')[0]
  return { seen: { path, status: res.status, body, setCookie }, next }
}

/** Runs `paths` in order, each with the cookie the last response set (a browser's jar). */
async function run(app: Running, paths: readonly string[], cookie?: string) {
  app.store.log.length = 0
  const seen = []
  let jar = cookie
  for (const path of paths) {
    const r = await call(app, path, jar)
    seen.push(r.seen)
    if (r.next !== undefined) jar = r.next
  }
  return { seen, log: [...app.store.log], stored: app.store.dump() }
}

const SCENARIOS: readonly (readonly string[])[] = [
  ['/noop', '/noop'],
  ['/read'],
  ['/set', '/read', '/noop'],
  ['/set', '/same', '/read'],
  ['/set', '/nested', '/nested', '/read'],
  ['/nested', '/list', '/noop'],
  ['/set', '/undefined'],
  ['/set', '/date', '/date', '/set', '/date'],
  ['/set', '/cookie', '/noop'],
  ['/cookie'],
  ['/set', '/regenerate', '/read'],
  ['/regenerate'],
  ['/set', '/destroy', '/read'],
  ['/set', '/unset', '/read'],
  ['/unset'],
  ['/save', '/noop'],
  ['/set', '/save', '/save-then-change', '/read'],
  ['/set', '/reload', '/read'],
  ['/set', '/stream', '/read'],
  ['/status', '/read'],
]

const flags = [false, true] as const
const combos = flags.flatMap((resave) =>
  flags.flatMap((saveUninitialized) =>
    flags.flatMap((rolling) =>
      flags.flatMap((destroyOnUnset) =>
        flags.flatMap((withTouch) =>
          flags.map((maxAge) => ({
            resave,
            saveUninitialized,
            rolling,
            destroyOnUnset,
            withTouch,
            maxAge,
          })),
        ),
      ),
    ),
  ),
)

describe('sessionMiddleware() behaves as express-session', () => {
  it.each(combos)(
    'resave $resave, saveUninitialized $saveUninitialized, rolling $rolling, unset destroy $destroyOnUnset, touch $withTouch, maxAge $maxAge',
    async ({ resave, saveUninitialized, rolling, destroyOnUnset, withTouch, maxAge }) => {
      const options: SessionMiddlewareOptions = {
        secret: SECRET,
        resave,
        saveUninitialized,
        rolling,
        unset: destroyOnUnset ? 'destroy' : 'keep',
        cookie: { httpOnly: true, sameSite: 'lax', ...(maxAge ? { maxAge: 60_000 } : {}) },
      }
      const theirs = await start(
        (store) => session({ ...options, secret: SECRET, store }),
        withTouch,
      )
      const ours = await start((store) => sessionMiddleware({ ...options, store }), withTouch)
      for (const paths of SCENARIOS) {
        const expected = await run(theirs, paths)
        const actual = await run(ours, paths)
        expect({ paths, ...actual }).toEqual({ paths, ...expected })
      }
    },
  )
})

describe('sessionMiddleware() cookies', () => {
  const options = { resave: false, saveUninitialized: false } as const

  it("accepts express-session's cookies and express-session accepts its cookies (one store)", async () => {
    const store = new SpyStore()
    const theirs = await start(
      (s) => session({ ...options, secret: SECRET, store: s }),
      true,
      store,
    )
    const ours = await start(
      (s) => sessionMiddleware({ ...options, secret: SECRET, store: s }),
      true,
      store,
    )
    const first = await call(theirs, '/set', undefined)
    const read = await call(ours, '/read', first.next)
    expect(read.seen.body).toBe('1')
    const second = await call(ours, '/regenerate', first.next)
    expect((await call(theirs, '/read', second.next)).seen.body).toBe('none')
    await call(ours, '/set', second.next)
    expect((await call(theirs, '/read', second.next)).seen.body).toBe('1')
  })

  it('refuses a cookie with a wrong or missing signature, and one signed by another secret', async () => {
    const app = await start(
      (s) => sessionMiddleware({ ...options, secret: SECRET, store: s }),
      true,
    )
    const { next } = await call(app, '/set', undefined)
    const [name, value] = (next as string).split('=') as [string, string]
    const raw = decodeURIComponent(value)
    const tampered = `${name}=${encodeURIComponent(raw.slice(0, -2) + (raw.endsWith('A') ? 'BB' : 'AA'))}`
    const unsigned = `${name}=${encodeURIComponent(raw.slice(2, raw.lastIndexOf('.')))}`
    expect((await call(app, '/read', next)).seen.body).toBe('1')
    expect((await call(app, '/read', tampered)).seen.body).toBe('none')
    expect((await call(app, '/read', unsigned)).seen.body).toBe('none')
    const other = await start(
      (s) => sessionMiddleware({ ...options, secret: 'another-secret-0123456789abcdef', store: s }),
      true,
      app.store,
    )
    expect((await call(other, '/read', next)).seen.body).toBe('none')
  })

  it('signs with the first secret and accepts the older ones (rotation)', async () => {
    const store = new SpyStore()
    const old = await start(
      (s) => sessionMiddleware({ ...options, secret: 'old-secret-0123456789abcdef', store: s }),
      true,
      store,
    )
    const rotated = await start(
      (s) =>
        sessionMiddleware({
          ...options,
          secret: [SECRET, 'old-secret-0123456789abcdef'],
          store: s,
        }),
      true,
      store,
    )
    const { next } = await call(old, '/set', undefined)
    expect((await call(rotated, '/read', next)).seen.body).toBe('1')
    const fresh = await call(rotated, '/set', undefined)
    expect((await call(old, '/read', fresh.next)).seen.body).toBe('none')
  })

  it('sends no Secure cookie over plain http, and sets it with secure "auto" only over TLS', async () => {
    const secure = await start(
      (s) => sessionMiddleware({ ...options, secret: SECRET, store: s, cookie: { secure: true } }),
      true,
    )
    expect((await call(secure, '/set', undefined)).seen.setCookie).toEqual([])
    const auto = await start(
      (s) =>
        sessionMiddleware({ ...options, secret: SECRET, store: s, cookie: { secure: 'auto' } }),
      true,
    )
    const line = (await call(auto, '/set', undefined)).seen.setCookie[0]
    expect(line).toBeDefined()
    expect(line).not.toMatch(/Secure/)
  })

  it('leaves requests outside the cookie path without a session', async () => {
    const app = await start(
      (s) => sessionMiddleware({ ...options, secret: SECRET, store: s, cookie: { path: '/app' } }),
      true,
    )
    const res = await fetch(`${app.url}/read`)
    expect(res.status).toBe(500) // the route reads req.session, which is not there
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('passes a store failure to next(err), and no session while the store is disconnected', async () => {
    const store = new SpyStore()
    const app = await start(
      (s) => sessionMiddleware({ ...options, secret: SECRET, store: s }),
      true,
      store,
    )
    const { next } = await call(app, '/set', undefined)
    store.get = (_sid, cb) => cb(new Error('down'))
    expect((await call(app, '/read', next)).seen.status).toBe(500)
    store.emit('disconnect')
    expect((await call(app, '/noop', next)).seen).toMatchObject({ status: 200, setCookie: [] })
    store.emit('connect')
  })
})

describe('sessionMiddleware() options', () => {
  it('refuses invalid options, naming them', () => {
    const base = { secret: SECRET, resave: false, saveUninitialized: false }
    const bad = (o: unknown) => () => sessionMiddleware(o as SessionMiddlewareOptions)
    expect(bad({ ...base, secret: '' })).toThrow('"secret"')
    expect(bad({ ...base, secret: [] })).toThrow('"secret"')
    expect(bad({ secret: SECRET, saveUninitialized: false })).toThrow('"resave"')
    expect(bad({ secret: SECRET, resave: false })).toThrow('"saveUninitialized"')
    expect(bad({ ...base, unset: 'drop' })).toThrow('"unset"')
    expect(bad({ ...base, genid: 'x' })).toThrow('"genid"')
    expect(bad({ ...base, cookie: () => ({}) })).toThrow('"cookie"')
    expect(bad({ ...base, rolling: 'yes' })).toThrow(TypeError)
  })

  it('names new sessions with genid', async () => {
    let n = 0
    const app = await start(
      (s) =>
        sessionMiddleware({
          secret: SECRET,
          resave: false,
          saveUninitialized: false,
          store: s,
          genid: () => `custom-${++n}`,
        }),
      true,
    )
    const { next } = await call(app, '/set', undefined)
    expect(decodeURIComponent(next as string)).toMatch(/=s:custom-1\./)
  })
})
