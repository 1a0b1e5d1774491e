// Two examples/api instances behind one port (a round-robin loopback proxy) sharing a real Redis:
// a DPoP proof accepted by one instance is refused by the other, a Redis outage is a 503 (fail
// closed) and the fleet recovers when Redis is back.
import { createHash, randomUUID } from 'node:crypto'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { defaultAudience, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { getTokens } from './resource-server-helpers.js'
import { baseEnv, spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { startRedis, type RedisServer } from './support/redis.js'

const entry = fileURLToPath(new URL('../examples/api/dist/index.js', import.meta.url))

let as: LocalAs
let redis: RedisServer
let key: { privateKey: CryptoKey; jwk: JWK }
const children: Child[] = []
const proxies: Server[] = []

beforeAll(async () => {
  ;[as, redis] = await Promise.all([startLocalAs(), startRedis()])
  const pair = await generateKeyPair('ES256')
  key = { privateKey: pair.privateKey, jwk: await exportJWK(pair.publicKey) }
})
afterAll(async () => {
  await Promise.all([as.close(), redis.stop()])
})
afterEach(async () => {
  await Promise.all(children.splice(0).map(stopChild))
  await Promise.all(
    proxies.splice(0).map((p) => new Promise((resolve) => p.close(() => resolve(undefined)))),
  )
})

async function startApi(env: Record<string, string>): Promise<number> {
  const child = spawnNode(entry, { ...baseEnv(), PORT: '0', ...env })
  children.push(child)
  const match = await waitForOutput(child, /listening.*?:(\d+)/)
  return Number(match[1])
}

/** A round-robin HTTP proxy on one loopback port; the Host header is passed on unchanged. */
async function startProxy(ports: number[]): Promise<{ url: string; hits: number[] }> {
  const hits = ports.map(() => 0)
  let next = 0
  const proxy = createServer((req, res) => {
    const index = next++ % ports.length
    hits[index]!++
    const upstream = request(
      {
        host: '127.0.0.1',
        port: ports[index],
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      res.writeHead(502).end()
    })
    req.pipe(upstream)
  })
  proxies.push(proxy)
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, hits }
}

function proof(htm: string, htu: string, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...extra })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey)
}

async function dpopToken(): Promise<{ token: string; ath: string }> {
  const tokens = await getTokens(as, {
    client: localClients.webDpop,
    resource: defaultAudience,
    dpop: await proof('POST', new URL('/token', as.issuer).href),
  })
  expect(tokens.token_type).toBe('DPoP')
  const token = tokens.access_token as string
  return { token, ath: createHash('sha256').update(token).digest('base64url') }
}

function call(url: string, token: string, dpop: string): Promise<Response> {
  return fetch(`${url}/api/private`, { headers: { authorization: `DPoP ${token}`, dpop } })
}

async function fleet(env: Record<string, string>) {
  const common = { ISSUER_URL: as.issuer, AUDIENCE: defaultAudience, ...env }
  const ports = await Promise.all([startApi(common), startApi(common)])
  return startProxy(ports)
}

describe('examples/api: two instances behind one port', () => {
  it('refuses a DPoP proof replayed against the other instance (shared Redis replay store)', async () => {
    const { url, hits } = await fleet({ REDIS_URL: redis.url })
    const { token, ath } = await dpopToken()
    const first = await proof('GET', `${url}/api/private`, { ath })
    expect((await call(url, token, first)).status).toBe(200)
    const replay = await call(url, token, first)
    expect(hits).toEqual([1, 1])
    expect(replay.status).toBe(401)
    expect(replay.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
    expect(await replay.json()).toMatchObject({
      error_description: 'The DPoP proof was already used',
    })
    // Fresh proofs are served by both instances.
    for (let i = 0; i < 2; i++) {
      const fresh = await proof('GET', `${url}/api/private`, { ath })
      expect((await call(url, token, fresh)).status).toBe(200)
    }
  })

  it('without a shared store, each instance only knows its own proofs (why REDIS_URL exists)', async () => {
    const { url } = await fleet({})
    const { token, ath } = await dpopToken()
    const first = await proof('GET', `${url}/api/private`, { ath })
    expect((await call(url, token, first)).status).toBe(200)
    expect((await call(url, token, first)).status).toBe(200)
    // The same instance again refuses it.
    expect((await call(url, token, first)).status).toBe(401)
  })

  it('answers 503 while Redis is down (fail closed) and recovers when it is back', async () => {
    const { url } = await fleet({ REDIS_URL: redis.url })
    const { token, ath } = await dpopToken()
    expect((await call(url, token, await proof('GET', `${url}/api/private`, { ath }))).status).toBe(
      200,
    )
    await redis.stop()
    try {
      for (let i = 0; i < 2; i++) {
        const down = await call(url, token, await proof('GET', `${url}/api/private`, { ath }))
        expect(down.status).toBe(503)
        expect(down.headers.get('www-authenticate')).toBeNull()
        expect(await down.json()).toMatchObject({ error: 'temporarily_unavailable' })
      }
      // Bearer-less routes are unaffected.
      expect((await fetch(`${url}/api/public`)).status).toBe(200)
    } finally {
      await redis.start()
    }
    const statuses: number[] = []
    for (let i = 0; i < 60 && statuses.slice(-2).join() !== '200,200'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      statuses.push(
        (await call(url, token, await proof('GET', `${url}/api/private`, { ath }))).status,
      )
    }
    expect(statuses.slice(-2)).toEqual([200, 200])
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
  })
})
