// renewSession(): the rolling expiry of examples/web-app without a Set-Cookie on every response.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import session from 'express-session'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { renewSession, SESSION_MAX_AGE_SECONDS } from '../examples/web-app/src/app.js'

const store = new session.MemoryStore()
let server: Server
let base: string

beforeAll(async () => {
  const app = express()
  app.use(
    session({
      secret: 'renew-test-secret-0123456789abcdef',
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
  app.use(renewSession(60))
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
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve())
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  vi.useRealTimers()
  await new Promise((resolve) => server.close(resolve))
})

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)

async function get(path: string, cookie?: string) {
  const res = await fetch(`${base}${path}`, cookie === undefined ? {} : { headers: { cookie } })
  await res.arrayBuffer()
  return res.headers.get('set-cookie')
}

const expiresOf = (setCookie: string) => Date.parse(/Expires=([^;]+)/.exec(setCookie)![1]!)

async function storedSession(
  cookie: string,
): Promise<session.SessionData & { renewedAt?: number }> {
  const sid = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!
  const stored = await new Promise<session.SessionData>((resolve, reject) =>
    store.get(sid, (err, value) =>
      err || !value ? reject(err ?? new Error('gone')) : resolve(value),
    ),
  )
  return stored
}

const storedExpiry = async (cookie: string) =>
  new Date((await storedSession(cookie)).cookie.expires!).getTime()

describe('renewSession (rolling expiry, throttled)', () => {
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
