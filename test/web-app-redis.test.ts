import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, atSecondStart, sleep } from './express-harness.js'
import { startRedis, type RedisServer } from './support/redis.js'
import { freePort } from './support/ports.js'
import {
  runWebAppExpectingExit,
  startWebApp,
  WEB_APPS,
  type SpawnedApp,
} from './web-app-harness.js'
import { webAppEnv } from './support/local-as.js'

describe.each(WEB_APPS)('examples/$name with REDIS_URL', (kind) => {
  let redis: RedisServer
  let as: LocalAs
  let one: SpawnedApp
  let two: SpawnedApp
  let env: Record<string, string>

  beforeAll(async () => {
    redis = await startRedis()
    as = await startLocalAs({ ttl: { AccessToken: 2 } })
    env = {
      ...webAppEnv(as),
      SESSION_SECRET: 'redis-test-session-secret-0123456789abcdef',
      REDIS_URL: redis.url,
    }
    one = await startWebApp(env, kind)
    two = await startWebApp(env, kind)
  })
  afterAll(async () => {
    await one?.stop()
    await two?.stop()
    await as?.close()
    await redis?.stop()
  })

  describe('sessions in Redis', () => {
    it('two instances share sessions; simultaneous forced refreshes through both make one grant', async () => {
      const agent = new Agent(one.url, kind.cookieName)
      await agent.login()
      const me = await agent.json('/me', two.url)
      expect(me.status).toBe(200)
      expect(me.body.sub).toBe('demo-user-1')
      const csrf = /name="csrf" value="([^"]+)"/.exec(
        await (await agent.request('/profile', { via: two.url })).text(),
      )?.[1]
      expect(csrf).toBeDefined()
      await atSecondStart()
      as.resetCounts()
      // Forced refreshes at once through both instances: the first wins, the others find its result.
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          agent.request('/refresh-token', {
            method: 'POST',
            body: new URLSearchParams({ csrf: csrf! }),
            via: i % 2 ? two.url : one.url,
          }),
        ),
      )
      expect(results.map((r) => r.status)).toEqual(Array(6).fill(303))
      expect(as.grantCount('refresh_token')).toBe(1)
      expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
    })

    it('anonymous /login requests leave only short-lived session keys (the login transaction TTL)', async () => {
      const client = createClient({ url: redis.url })
      await client.connect()
      try {
        const before = new Set(await client.keys('webapp:sess:*'))
        for (let i = 0; i < 50; i++) {
          const res = await fetch(`${one.url}/login`, { redirect: 'manual' })
          expect(res.status).toBe(302)
        }
        const created = (await client.keys('webapp:sess:*')).filter((k) => !before.has(k))
        expect(created).toHaveLength(50)
        for (const key of created) {
          const ttl = await client.ttl(key)
          // The transaction lives 10 minutes; the session a minute more, never the 24 h of a login.
          expect(ttl).toBeGreaterThan(0)
          expect(ttl).toBeLessThanOrEqual(11 * 60)
        }
        // A completed login gets the configured session lifetime (24 h).
        const agent = new Agent(one.url, kind.cookieName)
        expect((await agent.login()).status).toBe(302)
        const sid = kind.sessionIdOf(agent.sessionCookie() ?? '')
        expect(await client.ttl(`webapp:sess:${sid}`)).toBeGreaterThan(23 * 3600)
      } finally {
        await client.close()
      }
    })

    it('/login writes its session once (no second save at the end of the request)', async () => {
      const monitor = createClient({ url: redis.url })
      await monitor.connect()
      const writes: string[] = []
      await monitor.monitor((line: string) => {
        const [name, key] = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1])
        if (name?.toUpperCase() === 'SET' && key?.startsWith('webapp:sess:')) writes.push(key)
      })
      const agent = new Agent(one.url, kind.cookieName)
      const sidOf = () => kind.sessionIdOf(agent.sessionCookie() ?? '')
      try {
        const authorizationUrl = await agent.startLogin()
        const anonymous = sidOf()
        expect((await agent.finishLogin(authorizationUrl)).status).toBe(302)
        await sleep(300)
        // /login: its session once. (The callback writes the new session twice: once before its
        // redirect, once more at the end, as express-session does for a regenerated session.)
        expect(writes.filter((k) => k === `webapp:sess:${anonymous}`)).toHaveLength(1)
      } finally {
        await monitor.close()
      }
    })

    it('an authenticated read-only request costs one Redis GET and no write', async () => {
      const agent = new Agent(one.url, kind.cookieName)
      expect((await agent.login()).status).toBe(302)
      expect((await agent.json('/me')).status).toBe(200)
      const monitor = createClient({ url: redis.url })
      await monitor.connect()
      const commands: string[] = []
      await monitor.monitor((line: string) => {
        const name = /"([^"]+)"/.exec(line)?.[1]
        if (name !== undefined) commands.push(name.toUpperCase())
      })
      try {
        for (let i = 0; i < 10; i++) expect((await agent.json('/me')).status).toBe(200)
        await sleep(200)
      } finally {
        await monitor.close()
      }
      expect(commands).toEqual(Array(10).fill('GET'))
    })

    it('an authenticated read-only request sends no Set-Cookie (the session is renewed once a minute)', async () => {
      const agent = new Agent(one.url, kind.cookieName)
      expect((await agent.login()).status).toBe(302)
      // Each response read to its end: express-session sends the headers before its save finishes.
      const me = async () => {
        const res = await agent.request('/me', { accept: 'application/json' })
        await res.text()
        return res
      }
      // The first request of the login stamps its renewal (and re-sends the cookie)...
      const first = await me()
      expect(first.status).toBe(200)
      expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/i)
      // ... the following ones, within the minute, send none.
      for (let i = 0; i < 3; i++) {
        const res = await me()
        expect(res.status).toBe(200)
        expect(res.headers.get('set-cookie')).toBeNull()
      }
      // The renewal rewrote the store entry with a day's TTL (no touch needed).
      const client = createClient({ url: redis.url })
      await client.connect()
      try {
        const cookie = first.headers.get('set-cookie')!
        const sid = kind.sessionIdOf(cookie.slice(cookie.indexOf('=') + 1).split(';')[0]!)
        expect(await client.ttl(`webapp:sess:${sid}`)).toBeGreaterThan(24 * 3600 - 60)
      } finally {
        await client.close()
      }
    })

    it('Redis down: 503, no crash; back when Redis returns', async () => {
      const agent = new Agent(one.url, kind.cookieName)
      await agent.login()
      // An instance that has not served any request before the outage.
      const fresh = await startWebApp(env, kind)
      await redis.stop()
      try {
        const down = await agent.json('/me')
        expect(down.status).toBe(503)
        const freshDown = await agent.json('/me', fresh.url)
        expect(freshDown.status).toBe(503)
        expect(freshDown.body.error).toBe('ERR_STORE_UNAVAILABLE')
        const page = await agent.request('/')
        expect(page.status).toBe(503)
        expect(await page.text()).toContain('Service unavailable')
      } finally {
        await redis.start()
        await fresh.stop()
      }
      const deadline = Date.now() + 10_000
      let status = 503
      while (status === 503 && Date.now() < deadline) {
        await sleep(100)
        status = (await agent.json('/me')).status
      }
      expect(status).toBe(401) // no persistence: the session is gone, the app is back
      // The other instance's Redis client reconnects on its own schedule (up to 2 s apart).
      let other = 503
      while (other === 503 && Date.now() < deadline) {
        await sleep(100)
        other = (await new Agent(two.url, kind.cookieName).json('/me')).status
      }
      expect((await new Agent(two.url, kind.cookieName).login()).status).toBe(302)
    })

    it('an unreachable REDIS_URL stops the app at start, naming it', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          ISSUER_URL: as.issuer,
          CLIENT_ID: 'x',
          CLIENT_SECRET: 'y',
          PORT: '0',
          REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        },
        kind,
      )
      expect(code).not.toBe(0)
      expect(stderr).toContain('REDIS_URL')
    })
  })
})
