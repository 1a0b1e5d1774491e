// @codegrant/fastify against the real local AS and a real redis-server: two app instances share
// sessions (connect-redis's store, which @fastify/session accepts), the refresh lock and the
// back-channel logout index.
import { createRedisLock, createRedisSessionIndex } from '@codegrant/fastify'
import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import type { SessionStore } from '@fastify/session'
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COOKIE_NAME, startFastifyTestApp, type FastifyTestApp } from './fastify-harness.js'
import { Agent, atSecondStart, sleep } from './support/agent.js'
import { addBackchannelClient } from './support/local-as.js'
import { startRedis, type RedisServer } from './support/redis.js'

type Redis = ReturnType<typeof createClient>

let redis: RedisServer
let as: LocalAs
const clients: Redis[] = []
let a: FastifyTestApp
let b: FastifyTestApp

async function instance(
  extra: { clientId?: string; responseMode?: 'form_post' } = {},
): Promise<FastifyTestApp> {
  const client = createClient({ url: redis.url, disableOfflineQueue: true })
  client.on('error', () => undefined)
  await client.connect()
  clients.push(client)
  return startFastifyTestApp({
    as,
    ...(extra.clientId !== undefined
      ? { clientId: extra.clientId, clientSecret: `${extra.clientId}-secret-for-local-tests-only` }
      : {}),
    store: new RedisStore({ client, prefix: 'fastify:sess:' }) as unknown as SessionStore,
    auth: {
      lock: createRedisLock(client),
      sessionIndex: createRedisSessionIndex(client),
      ...(extra.responseMode !== undefined ? { responseMode: extra.responseMode } : {}),
    },
  })
}

beforeAll(async () => {
  redis = await startRedis()
  as = await startLocalAs({ ttl: { AccessToken: 2 } })
  a = await instance()
  b = await instance()
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  for (const client of clients) client.destroy()
  await as?.close()
  await redis?.stop()
})

describe('@codegrant/fastify: two instances sharing Redis', () => {
  it('share the session: a login through one is seen by the other; no token in Redis', async () => {
    const agent = new Agent(a.url, COOKIE_NAME)
    expect((await agent.login('/profile')).location).toBe('/profile')
    const me = await agent.json('/me', b.url)
    expect(me.status).toBe(200)
    expect(me.body.sub).toBe('demo-user-1')
    const token = (await agent.json('/token', b.url)).body.access_token as string
    const reader = createClient({ url: redis.url })
    await reader.connect()
    try {
      const sid = decodeURIComponent(agent.sessionCookie()!).split('.')[0]!
      const stored = (await reader.get(`fastify:sess:${sid}`)) ?? ''
      expect(stored).toContain('"codegrant"')
      expect(stored).not.toContain(token)
      expect(stored).not.toMatch(/eyJ|refresh_token/)
    } finally {
      await reader.close()
    }
  })

  it('concurrent requests through both after expiry cause exactly one refresh grant', async () => {
    const agent = new Agent(a.url, COOKIE_NAME)
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
  })

  it('simultaneous forced refreshes through both instances make one grant', async () => {
    const agent = new Agent(a.url, COOKIE_NAME)
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

  it('form_post: the login completes through the POST callback', async () => {
    const c = await instance({ responseMode: 'form_post' })
    try {
      const agent = new Agent(c.url, COOKIE_NAME)
      const authorizationUrl = await agent.startLogin('/profile')
      expect(authorizationUrl.searchParams.get('response_mode')).toBe('form_post')
      const callback = await agent.finishLogin(authorizationUrl)
      expect(callback.status).toBe(302)
      expect(callback.location).toBe('/profile')
      expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
    } finally {
      await c.close()
    }
  })

  it('back-channel logout received by one instance ends the session on the other (Redis index)', async () => {
    const clientId = 'web-fastify-backchannel'
    const c = await instance({ clientId })
    const d = await instance({ clientId })
    try {
      await addBackchannelClient(as, {
        clientId,
        clientSecret: `${clientId}-secret-for-local-tests-only`,
        backchannelLogoutUri: `${d.url}/backchannel-logout`,
      })
      const agent = new Agent(c.url, COOKIE_NAME)
      await agent.login()
      expect((await agent.json('/me', d.url)).status).toBe(200)
      await completeLogout(`${as.issuer}/session/end`, { cookieJar: agent.asJar })
      const deadline = Date.now() + 5000
      while ((await agent.json('/me', c.url)).status !== 401 && Date.now() < deadline)
        await sleep(50)
      expect((await agent.json('/me', c.url)).status).toBe(401)
      expect(as.events.some((e) => e.name === 'backchannel.success')).toBe(true)
    } finally {
      await c.close()
      await d.close()
    }
  })
})
