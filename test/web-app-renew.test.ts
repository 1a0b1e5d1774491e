// renewSession(): the rolling expiry of examples/web-app (Express) and examples/fastify-web-app
// without a Set-Cookie on every response: one suite over both, each on its own session library.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import express from 'express'
import session from 'express-session'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  renewSession as renewExpressSession,
  SESSION_MAX_AGE_SECONDS,
} from '../examples/web-app/src/app.js'
import {
  renewSession as renewFastifySession,
  SESSION_MAX_AGE_SECONDS as FASTIFY_SESSION_MAX_AGE_SECONDS,
} from '../examples/fastify-web-app/src/app.js'

/** What a test sees of one app: its URL and its store's entries. */
interface RenewApp {
  readonly base: string
  /** The stored session of a `name=value` cookie pair. */
  stored(cookie: string): Promise<{ expires: number; renewedAt?: number }>
  close(): Promise<void>
}

const SECRET = 'renew-test-secret-0123456789abcdef'

/** examples/web-app's renewSession on express-session, a stand-in for auth() before it. */
async function startExpress(): Promise<RenewApp> {
  const store = new session.MemoryStore()
  const app = express()
  app.use(
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      store,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: SESSION_MAX_AGE_SECONDS * 1000 },
    }),
  )
  // Stands in for auth(): `req.auth.isAuthenticated` when the session says so.
  app.use((req, _res, next) => {
    const loggedIn = (req.session as unknown as { user?: string }).user !== undefined
    ;(req as unknown as { auth: { isAuthenticated: boolean } }).auth = { isAuthenticated: loggedIn }
    next()
  })
  app.use(renewExpressSession(60))
  app.get('/login', (req, res) => {
    ;(req.session as unknown as { user?: string }).user = 'u'
    res.json({ ok: true })
  })
  app.get('/anonymous', (req, res) => {
    ;(req.session as unknown as { note?: string }).note = 'n'
    res.json({ ok: true })
  })
  app.get('/me', (_req, res) => {
    res.json({ ok: true })
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stored: (cookie) => {
      const sid = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!
      return new Promise((resolve, reject) =>
        store.get(sid, (err, value) =>
          err || !value
            ? reject(err ?? new Error('gone'))
            : resolve({
                expires: new Date(value.cookie.expires!).getTime(),
                ...((value as { renewedAt?: number }).renewedAt !== undefined
                  ? { renewedAt: (value as { renewedAt?: number }).renewedAt! }
                  : {}),
              }),
        ),
      )
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** examples/fastify-web-app's renewSession on @fastify/session, a stand-in for fastifyAuth before it. */
async function startFastify(): Promise<RenewApp> {
  const entries = new Map<string, Record<string, unknown>>()
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    saveUninitialized: false,
    rolling: false,
    store: new fastifySession.MemoryStore(entries as Map<string, never>),
    cookie: {
      secure: false,
      httpOnly: true,
      sameSite: 'lax',
      maxAge: FASTIFY_SESSION_MAX_AGE_SECONDS * 1000,
    },
  })
  const data = (request: { session: unknown }) => request.session as Record<string, unknown>
  // Stands in for fastifyAuth: `request.auth.isAuthenticated` when the session says so.
  app.addHook('onRequest', (request, _reply, done) => {
    Reflect.set(request, 'auth', { isAuthenticated: data(request).user !== undefined })
    done()
  })
  app.addHook('onRequest', renewFastifySession(60))
  app.get('/login', async (request) => {
    data(request).user = 'u'
    return { ok: true }
  })
  app.get('/anonymous', async (request) => {
    data(request).note = 'n'
    return { ok: true }
  })
  app.get('/me', async () => ({ ok: true }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    base: address,
    stored: async (cookie) => {
      const sid = decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!
      const value = entries.get(sid)
      if (value === undefined) throw new Error('gone')
      const expires = (value.cookie as { expires: Date | string }).expires
      return {
        expires: new Date(expires).getTime(),
        ...(typeof value.renewedAt === 'number' ? { renewedAt: value.renewedAt } : {}),
      }
    },
    close: () => app.close(),
  }
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const expiresOf = (setCookie: string) => Date.parse(/Expires=([^;]+)/.exec(setCookie)![1]!)

describe.each([
  { name: 'web-app', start: startExpress },
  { name: 'fastify-web-app', start: startFastify },
])('renewSession of examples/$name (rolling expiry, throttled)', ({ start }) => {
  let app: RenewApp
  let base: string
  beforeAll(async () => {
    app = await start()
    base = app.base
  })
  afterAll(async () => {
    vi.useRealTimers()
    await app?.close()
  })

  async function get(path: string, cookie?: string) {
    const res = await fetch(`${base}${path}`, cookie === undefined ? {} : { headers: { cookie } })
    await res.arrayBuffer()
    return res.headers.get('set-cookie')
  }
  const storedSession = (cookie: string) => app.stored(cookie)
  const storedExpiry = async (cookie: string) => (await app.stored(cookie)).expires

  it('re-sends the cookie and rewrites the store entry only when the last renewal is a minute old', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const first = await get('/login')
    expect(first).not.toBeNull()
    const cookie = first!.split(';')[0]!
    const day = SESSION_MAX_AGE_SECONDS * 1000
    // The first request of a login stamps it (the login's own response could not).
    vi.setSystemTime(T0 + 1000)
    expect(expiresOf((await get('/me', cookie))!)).toBe(T0 + 1000 + day)

    vi.setSystemTime(T0 + 30_000)
    expect(await get('/me', cookie)).toBeNull()

    vi.setSystemTime(T0 + 62_000)
    const renewed = await get('/me', cookie)
    expect(renewed).not.toBeNull()
    // The same session, its expiry moved to a day from now (second precision in the cookie).
    expect(renewed!.split(';')[0]).toBe(cookie)
    expect(expiresOf(renewed!)).toBe(T0 + 62_000 + day)
    expect(await storedExpiry(cookie)).toBe(T0 + 62_000 + day)

    vi.setSystemTime(T0 + 100_000)
    expect(await get('/me', cookie)).toBeNull()

    vi.setSystemTime(T0 + 123_000)
    const again = await get('/me', cookie)
    expect(again).not.toBeNull()
    expect(expiresOf(again!)).toBe(T0 + 123_000 + day)
    vi.useRealTimers()
  })

  it('leaves a session without a logged-in user alone', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const cookie = (await get('/anonymous'))!.split(';')[0]!
    vi.setSystemTime(T0 + 3600_000)
    expect(await get('/me', cookie)).toBeNull()
    expect((await storedSession(cookie)).renewedAt).toBeUndefined()
    vi.useRealTimers()
  })
})
