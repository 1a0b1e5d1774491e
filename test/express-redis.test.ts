import { createRedisLock, createRedisSessionIndex } from '@codegrant/express'
import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, atSecondStart, sleep, startTestApp, type TestApp } from './express-harness.js'
import { addBackchannelClient } from './support/local-as.js'
import { startRedis, type RedisServer } from './support/redis.js'

type Redis = ReturnType<typeof createClient>

let redis: RedisServer
let as: LocalAs
const clients: Redis[] = []
let a: TestApp
let b: TestApp

async function redisClient(url: string): Promise<Redis> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 300),
    },
  })
  client.on('error', () => undefined) // reconnects by itself; requests fail fast meanwhile
  await client.connect()
  clients.push(client)
  return client
}

async function instance(clientId?: string): Promise<TestApp> {
  const client = await redisClient(redis.url)
  return startTestApp({
    as,
    ...(clientId !== undefined
      ? { clientId, clientSecret: `${clientId}-secret-for-local-tests-only` }
      : {}),
    store: new RedisStore({ client }),
    auth: { lock: createRedisLock(client), sessionIndex: createRedisSessionIndex(client) },
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

describe('Redis lock and index', () => {
  it('the lock excludes, expires, and is released only by its owner', async () => {
    const client = await redisClient(redis.url)
    const lock = createRedisLock(client, {
      prefix: 'test:lock:',
      ttl: 200,
      waitTimeout: 2000,
      retryDelay: 10,
    })
    const first = await lock.acquire('k')
    let secondHeld = false
    const second = lock.acquire('k').then((release) => {
      secondHeld = true
      return release
    })
    await sleep(100)
    expect(secondHeld).toBe(false)
    // The first holder stalls past the ttl: the lock expires and the second takes it.
    const releaseSecond = await second
    expect(secondHeld).toBe(true)
    // The late first holder's release must not delete the second holder's lock.
    await first()
    expect(await client.get('test:lock:k')).not.toBeNull()
    await releaseSecond()
    expect(await client.get('test:lock:k')).toBeNull()
  })

  it('a lock that cannot be had in time is ERR_STORE_UNAVAILABLE', async () => {
    const client = await redisClient(redis.url)
    const lock = createRedisLock(client, { prefix: 'test:lock2:', ttl: 5000, waitTimeout: 100 })
    const release = await lock.acquire('k')
    await expect(lock.acquire('k')).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      status: 503,
    })
    await release()
  })

  it('the index finds sessions by key and refuses a replayed jti', async () => {
    const client = await redisClient(redis.url)
    const index = createRedisSessionIndex(client, { prefix: 'test:idx:' })
    await index.add(['sub:a', 'sid:x'], 's1', 60)
    await index.add(['sub:a'], 's2', 60)
    expect((await index.find('sub:a')).sort()).toEqual(['s1', 's2'])
    expect(await index.find('sid:x')).toEqual(['s1'])
    await index.remove('sub:a')
    expect(await index.find('sub:a')).toEqual([])
    expect(await index.firstUse('jti-1', 60)).toBe(true)
    expect(await index.firstUse('jti-1', 60)).toBe(false)
  })
})

describe('two instances sharing Redis', () => {
  it('share the session: a login through one is seen by the other', async () => {
    const agent = new Agent(a.url)
    await agent.login()
    const me = await agent.json('/me', b.url)
    expect(me.status).toBe(200)
    expect(me.body.sub).toBe('demo-user-1')
  })

  it('concurrent requests through both after expiry cause exactly one refresh grant', async () => {
    const agent = new Agent(a.url)
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

  it('back-channel logout received by one instance ends the session on the other (Redis index)', async () => {
    const clientId = 'web-redis-backchannel'
    const c = await instance(clientId)
    const d = await instance(clientId)
    try {
      await addBackchannelClient(as, {
        clientId,
        clientSecret: `${clientId}-secret-for-local-tests-only`,
        backchannelLogoutUri: `${d.url}/backchannel-logout`,
      })
      const agent = new Agent(c.url)
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

  it('Redis down: a clear 503, no crash; recovery when it returns', async () => {
    const agent = new Agent(a.url)
    await agent.login()
    await redis.stop()
    try {
      for (const via of [a.url, b.url]) {
        const res = await agent.json('/me', via)
        expect(res.status).toBe(503)
        expect(res.body.code).toBe('ERR_STORE_UNAVAILABLE')
      }
      const login = await agent.request('/login', { accept: 'application/json' })
      expect(login.status).toBe(503)
    } finally {
      await redis.start()
    }
    // Both instances reconnect by themselves. The sessions were not persisted: logged out.
    const deadline = Date.now() + 10_000
    for (const via of [a.url, b.url]) {
      let status = 0
      while ((status = (await agent.json('/me', via)).status) === 503 && Date.now() < deadline) {
        await sleep(100)
      }
      expect(status).toBe(401)
    }
    const again = new Agent(a.url)
    expect((await again.login()).status).toBe(302)
    expect((await again.json('/me', b.url)).status).toBe(200)
  })
})
