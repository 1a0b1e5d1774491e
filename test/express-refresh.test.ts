import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Agent,
  atSecondStart,
  authOf,
  sleep,
  startTestApp,
  type TestApp,
} from './express-harness.js'

// Access tokens live 2 s: with the default 60 s margin capped at half the lifetime, a token is
// refreshed once it has less than 1 s left.
let as: LocalAs
let app: TestApp
let release: () => void = () => undefined
let gate: Promise<void> = Promise.resolve()
let slowLoaded: () => void = () => undefined

beforeAll(async () => {
  as = await startLocalAs({ ttl: { AccessToken: 2 } })
  app = await startTestApp({
    as,
    routes: (a) => {
      // Loads the session, waits for the test, then changes something: express-session saves the
      // whole session it loaded at the end.
      a.get('/slow', async (req, res) => {
        slowLoaded()
        await gate
        ;(req.session as unknown as Record<string, unknown>).cart = 'apples'
        res.send('ok')
      })
      a.get('/cart', (req, res) => {
        res.json({ cart: (req.session as unknown as Record<string, unknown>).cart ?? null })
      })
      a.post('/refresh-now', async (req, res, next) => {
        try {
          await authOf(req).getAccessToken({ forceRefresh: true })
          res.json({ exp: authOf(req).accessTokenExpiresAt })
        } catch (err) {
          next(err)
        }
      })
    },
  })
})
afterAll(async () => {
  await app?.close()
  await as?.close()
})

/** The sealed user record in the store (it changes with every token update: a new IV each time). */
async function storedUser(agent: Agent): Promise<string> {
  const cookie = decodeURIComponent(agent.sessionCookie() ?? '')
  const sid = cookie.slice(2, cookie.lastIndexOf('.'))
  const stored = await new Promise<any>((resolve, reject) =>
    app.store.get(sid, (err, value) => (err ? reject(err) : resolve(value))),
  )
  return stored.codegrant.user as string
}

async function token(agent: Agent): Promise<string> {
  const res = await agent.json('/token')
  expect(res.status).toBe(200)
  return res.body.access_token as string
}

describe('getAccessToken', () => {
  it('returns the stored token while fresh (no refresh grant)', async () => {
    const agent = new Agent(app.url)
    await atSecondStart()
    await agent.login()
    as.resetCounts()
    const a = await token(agent)
    const b = await token(agent)
    expect(a).toBe(b)
    expect(as.grantCount('refresh_token')).toBe(0)
  })

  it('refreshes a token about to expire', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    const first = await token(agent)
    as.resetCounts()
    await sleep(1300)
    const second = await token(agent)
    expect(second).not.toBe(first)
    expect(as.grantCount('refresh_token')).toBe(1)
  })

  it('10 concurrent requests after expiry cause exactly one refresh grant', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    await sleep(1300)
    await atSecondStart() // the refresh and the latecomers' checks fall in one second
    as.resetCounts()
    const tokens = await Promise.all(Array.from({ length: 10 }, () => token(agent)))
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(new Set(tokens).size).toBe(1)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
  })

  it('a slow request that loaded the session before a refresh does not overwrite the new tokens', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    await sleep(1300)
    await atSecondStart()
    as.resetCounts()
    gate = new Promise((resolve) => (release = resolve))
    const loaded = new Promise<void>((resolve) => (slowLoaded = resolve))
    const slow = agent.request('/slow')
    await loaded
    const refreshed = await token(agent)
    expect(as.grantCount('refresh_token')).toBe(1)
    const newer = await storedUser(agent)
    release()
    const slowResponse = await slow
    expect(slowResponse.status).toBe(200)
    await slowResponse.text() // the last byte is held back until express-session has saved
    // What the store holds now is the refreshed record, not the stale one the slow request loaded.
    expect(await storedUser(agent)).toEqual(newer)
    // The stale save kept the app's change but not its old token record.
    expect((await agent.json('/cart')).body.cart).toBe('apples')
    expect(await token(agent)).toBe(refreshed)
    await sleep(1300)
    const again = await token(agent)
    expect(again).not.toBe(refreshed)
    expect(as.grantCount('refresh_token')).toBe(2)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
  })

  it('forceRefresh refreshes a fresh token', async () => {
    const agent = new Agent(app.url)
    await atSecondStart()
    await agent.login()
    as.resetCounts()
    const before = await token(agent)
    const res = await agent.request('/refresh-now', { method: 'POST', accept: 'application/json' })
    expect(res.status).toBe(200)
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(await token(agent)).not.toBe(before)
  })

  it('ends the session cleanly when the refresh answers invalid_grant', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    const grantId = [...as.events]
      .reverse()
      .find((e) => e.name === 'grant.success' && e.grantId)?.grantId
    expect(grantId).toBeDefined()
    const grant = await (as.provider as any).Grant.find(grantId)
    await grant.destroy()
    await sleep(1300)
    const res = await agent.json('/token')
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('ERR_SESSION_ENDED')
    expect((await agent.json('/me')).status).toBe(401)
  })
})
