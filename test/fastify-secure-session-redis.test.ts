// Two instances of an app on @fastify/secure-session (the same key: a cookie of one opens on the
// other) against the real local AS with refresh-token rotation and a real redis-server: the Redis
// lock plus the refresh handoff ("old refresh token hash -> new token set") make one refresh
// grant for requests carrying the same cookie through both; the Redis session index carries a
// back-channel logout to both.
import {
  createRedisLock,
  createRedisRefreshHandoff,
  createRedisSessionIndex,
  type FastifyAuthOptions,
} from '@codegrant/fastify'
import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  newKey,
  SECURE_COOKIE_NAME,
  startSecureTestApp,
  type SecureTestApp,
} from './fastify-secure-session-harness.js'
import { Agent, atSecondStart, sleep } from './support/agent.js'
import { addBackchannelClient } from './support/local-as.js'
import { startRedis, type RedisServer } from './support/redis.js'

type Redis = ReturnType<typeof createClient>

let redis: RedisServer
let as: LocalAs
const clients: Redis[] = []
const apps: SecureTestApp[] = []
const key = newKey()

async function connect(): Promise<Redis> {
  const client = createClient({ url: redis.url, disableOfflineQueue: true })
  client.on('error', () => undefined)
  await client.connect()
  clients.push(client)
  return client
}

async function instance(
  extra: { clientId?: string; auth?: Partial<FastifyAuthOptions> } = {},
): Promise<SecureTestApp> {
  const client = await connect()
  const app = await startSecureTestApp({
    as,
    key,
    ...(extra.clientId !== undefined
      ? { clientId: extra.clientId, clientSecret: `${extra.clientId}-secret-for-local-tests-only` }
      : {}),
    auth: {
      lock: createRedisLock(client),
      refreshHandoff: createRedisRefreshHandoff(client),
      ...extra.auth,
    },
  })
  apps.push(app)
  return app
}

let a: SecureTestApp
let b: SecureTestApp

beforeAll(async () => {
  redis = await startRedis()
  // Refresh tokens rotate on every use (the local AS default): a second refresh with the old one
  // is invalid_grant.
  as = await startLocalAs({ ttl: { AccessToken: 2 }, rotateRefreshToken: true })
  a = await instance()
  b = await instance()
})
afterAll(async () => {
  for (const app of apps) await app.close()
  for (const client of clients) client.destroy()
  await as?.close()
  await redis?.stop()
})

describe('@codegrant/fastify on @fastify/secure-session: two instances sharing Redis', () => {
  it('the cookie is the session: a login through one is seen by the other', async () => {
    const agent = new Agent(a.url, SECURE_COOKIE_NAME)
    expect((await agent.login('/profile')).location).toBe('/profile')
    const me = await agent.json('/me', b.url)
    expect(me.status).toBe(200)
    expect(me.body.sub).toBe('demo-user-1')
  })

  it('concurrent requests with the same expired cookie through both: one grant, all succeed, no invalid_grant', async () => {
    const agent = new Agent(a.url, SECURE_COOKIE_NAME)
    await agent.login()
    await sleep(1300)
    await atSecondStart()
    as.resetCounts()
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => agent.json('/token', i % 2 === 0 ? a.url : b.url)),
    )
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(new Set(results.map((r) => r.body.access_token)).size).toBe(1)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
    // Either instance goes on from the cookie the browser kept.
    expect((await agent.json('/token', b.url)).status).toBe(200)
  })

  it('simultaneous forced refreshes through both: one grant', async () => {
    const agent = new Agent(a.url, SECURE_COOKIE_NAME)
    await agent.login()
    await atSecondStart()
    as.resetCounts()
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        agent.request('/token/refresh', {
          method: 'POST',
          accept: 'application/json',
          via: i % 2 === 0 ? a.url : b.url,
        }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(200))
    const tokens = await Promise.all(results.map(async (r) => (await r.json()).access_token))
    expect(new Set(tokens).size).toBe(1)
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
  })

  it('no token in Redis: the handoff record is sealed, its key a hash', async () => {
    const agent = new Agent(a.url, SECURE_COOKIE_NAME)
    await agent.login()
    const refreshed = await agent.request('/token/refresh', {
      method: 'POST',
      accept: 'application/json',
    })
    const token = (await refreshed.json()).access_token as string
    const reader = await connect()
    const keys = await reader.keys('codegrant:refresh:*')
    expect(keys.length).toBeGreaterThan(0)
    for (const k of keys) {
      const value = (await reader.get(k)) ?? ''
      expect(value).toMatch(/^v1\./)
      expect(value).not.toContain(token)
      expect(value).not.toMatch(/eyJhbGciOi|refresh_token/)
      const ttl = await reader.pTTL(k)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(30_000)
    }
  })

  it('control: without a working handoff the instance that waited refreshes the rotated token again (invalid_grant)', async () => {
    const inert = { put: async () => undefined, get: async () => undefined }
    const c = await instance({ auth: { refreshHandoff: inert } })
    const d = await instance({ auth: { refreshHandoff: inert } })
    const agent = new Agent(c.url, SECURE_COOKIE_NAME)
    await agent.login()
    await atSecondStart()
    as.resetCounts()
    const results = await Promise.all(
      Array.from({ length: 2 }, (_, i) =>
        agent.request('/token/refresh', {
          method: 'POST',
          accept: 'application/json',
          via: i === 0 ? c.url : d.url,
        }),
      ),
    )
    // The second refresh request reached the AS with the rotated-out token and was refused.
    expect(results.map((r) => r.status)).toContain(401)
    expect(as.events.some((e) => e.name === 'grant.error')).toBe(true)
  })

  it('back-channel logout received by one instance logs the cookie out on the other (Redis index)', async () => {
    const clientId = 'web-secure-redis-backchannel'
    const index = createRedisSessionIndex(await connect())
    const options = {
      clientId,
      auth: { routes: { backchannelLogout: '/backchannel-logout' }, sessionIndex: index },
    }
    const c = await instance(options)
    const d = await instance(options)
    await addBackchannelClient(as, {
      clientId,
      clientSecret: `${clientId}-secret-for-local-tests-only`,
      backchannelLogoutUri: `${d.url}/backchannel-logout`,
    })
    const agent = new Agent(c.url, SECURE_COOKIE_NAME)
    await agent.login()
    expect((await agent.json('/me', d.url)).status).toBe(200)
    as.resetCounts()
    await completeLogout(`${as.issuer}/session/end`, { cookieJar: agent.asJar })
    const deadline = Date.now() + 5000
    while (!as.events.some((e) => e.name === 'backchannel.success') && Date.now() < deadline)
      await sleep(50)
    expect(as.events.some((e) => e.name === 'backchannel.success')).toBe(true)
    expect((await agent.json('/me', c.url)).status).toBe(401)
  })
})
