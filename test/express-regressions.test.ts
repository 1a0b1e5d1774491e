// Regression tests (integration) for defects found by the security review, against a real
// oidc-provider and a real express-session.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRedisLock, createRedisSessionIndex, requiresAuth } from '@codegrant/express'
import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import express from 'express'
import session from 'express-session'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessionVault } from '../packages/session/src/session-vault.js'
import { createTokenCipher } from '../packages/session/src/token-cipher.js'
import {
  Agent,
  authOf,
  sleep,
  startTestApp,
  TOKEN_SECRET,
  type TestApp,
} from './express-harness.js'
import {
  baseEnv,
  runToExit,
  spawnNode,
  stopChild,
  waitForOutput,
  type Child,
} from './support/child.js'
import { addBackchannelClient, webAppEnv } from './support/local-as.js'
import { freePort } from './support/ports.js'
import { startRedis, type RedisServer } from './support/redis.js'

let as: LocalAs

// Answers to the refresh_token grant arrive this late when `slowRefresh` is set.
let slowRefresh = 0
const delayingFetch: typeof fetch = async (input, init) => {
  const body = typeof init?.body === 'string' ? init.body : init?.body?.toString()
  const response = await fetch(input, init)
  // The AS has answered (the grant is used) but the answer arrives late.
  if (slowRefresh > 0 && body?.includes('grant_type=refresh_token') === true)
    await sleep(slowRefresh)
  return response
}

/** GET with the path sent exactly as given (fetch and URL would normalise `/./` and `%2e`). */
function rawGet(
  base: string,
  path: string,
  cookie: string | undefined,
): Promise<{ status: number; location: string | undefined }> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path,
        method: 'GET',
        headers: { accept: 'text/html', ...(cookie !== undefined ? { cookie } : {}) },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as?.close()
})

describe('regression: open redirect through a normalised returnTo', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({
      as,
      routes: (a) => {
        // Step-up on every other path: a logged-in user is sent to log in again with max_age.
        a.use(requiresAuth({ acrValues: 'urn:codegrant:never' }))
        a.use((_req, res) => void res.send('ok'))
      },
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  for (const payload of [
    '/.//evil.example/x',
    '/..//evil.example',
    '/a/..//evil.example',
    '/%2e//evil.example',
  ]) {
    it(`the callback never redirects off-site for returnTo=${payload}`, async () => {
      const agent = new Agent(app.url)
      const res = await agent.login(payload)
      expect(res.status).toBe(302)
      expect(res.location).toBe('/')
    })
  }

  for (const payload of ['/.//evil.example/x', '/a/..//evil.example', '/%2e//evil.example']) {
    it(`step-up stores no off-site returnTo for the path ${payload}`, async () => {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      const cookie = agent.jar.header(new URL(app.url))
      const res = await rawGet(app.url, payload, cookie)
      expect(res.status).toBe(302)
      const authorize = new URL(res.location ?? '')
      expect(authorize.searchParams.get('acr_values')).toBe('urn:codegrant:never')
      const state = authorize.searchParams.get('state')
      // The stored login transaction's returnTo is what the callback redirects to (logins are
      // sealed: opened here with the app's secret, as the vault does).
      const vault = createSessionVault({
        sessionKey: 'codegrant',
        maxLogins: 10,
        cipher: createTokenCipher([TOKEN_SECRET]),
        acquire: async () => async () => undefined,
        touchAfter: 60,
      })
      const sessions = (app.store as unknown as { sessions: Record<string, string> }).sessions
      const targets = Object.entries(sessions)
        .map(([sid, json]) =>
          vault.takeLogin(
            {
              id: sid,
              data: JSON.parse(json) as Record<string, unknown>,
              store: app.store as never,
              save: async () => undefined,
              regenerate: async () => undefined,
              destroy: async () => undefined,
              expireIn: () => undefined,
            },
            state ?? '',
          ),
        )
        .filter((login) => login !== undefined)
        .map((login) => login.returnTo)
      expect(targets).toEqual(['/'])
    })
  }
})

describe('regression: logout undone by an in-flight refresh', () => {
  let app: TestApp
  let lastSid: string | undefined
  beforeAll(async () => {
    app = await startTestApp({
      as,
      fetch: delayingFetch,
      routes: (a) => {
        a.post('/force-refresh', async (req, res, next) => {
          lastSid = req.sessionID
          try {
            await authOf(req).getAccessToken({ forceRefresh: true })
            res.json({ refreshed: true })
          } catch (err) {
            next(err)
          }
        })
      },
    })
  })
  afterAll(async () => {
    slowRefresh = 0
    await app?.close()
  })

  it('a logout during a slow refresh stays a logout', async () => {
    const agent = new Agent(app.url)
    expect((await agent.login()).status).toBe(302)
    expect((await agent.json('/me')).status).toBe(200)
    slowRefresh = 1500
    const refreshing = agent.request('/force-refresh', {
      method: 'POST',
      accept: 'application/json',
    })
    await sleep(400)
    const logout = await agent.request('/logout', { method: 'POST' })
    expect(logout.status).toBe(302)
    await (await refreshing).body?.cancel()
    slowRefresh = 0
    expect((await agent.json('/me')).status).toBe(401)
  })

  it('a refresh never writes back a session destroyed meanwhile (write-back compares)', async () => {
    const agent = new Agent(app.url)
    expect((await agent.login()).status).toBe(302)
    slowRefresh = 1000
    const refreshing = agent.request('/force-refresh', {
      method: 'POST',
      accept: 'application/json',
    })
    await sleep(300)
    const sid = lastSid
    expect(sid).toBeDefined()
    // Destroyed behind the lock's back (as by another instance whose lock view differs).
    await new Promise<void>((resolve, reject) =>
      app.store.destroy(sid as string, (err?: unknown) => (err ? reject(err) : resolve())),
    )
    const res = await refreshing
    slowRefresh = 0
    expect(res.status).toBe(401)
    await res.body?.cancel()
    expect((await agent.json('/me')).status).toBe(401)
  })
})

describe('regression: the Redis lock expired under a slow holder', () => {
  let redis: RedisServer
  let client: ReturnType<typeof createClient>
  beforeAll(async () => {
    redis = await startRedis()
    client = createClient({ url: redis.url, disableOfflineQueue: true })
    await client.connect()
  })
  afterAll(async () => {
    await client?.quit()
    await redis?.stop()
  })

  it('a held lock is extended past its initial ttl while the holder works', async () => {
    const lock = createRedisLock(client, { prefix: 'rg1:', ttl: 300, waitTimeout: 200 })
    const release = await lock.acquire('k')
    // Without extension it would be gone after 300 ms.
    await sleep(750)
    // Still held: the key lives on and another holder cannot take it.
    expect(await client.pTTL('rg1:k')).toBeGreaterThan(0)
    await expect(lock.acquire('k')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
    await release()
    expect(await client.exists('rg1:k')).toBe(0)
    const again = await lock.acquire('k')
    await again()
  })

  it('a hung holder still lets go after a bounded number of extensions', async () => {
    const lock = createRedisLock(client, { prefix: 'rg4:', ttl: 200, waitTimeout: 3000 })
    await lock.acquire('k')
    // Never released: the next holder gets it once the extensions run out.
    const started = Date.now()
    const next = await lock.acquire('k')
    expect(Date.now() - started).toBeGreaterThanOrEqual(400)
    await next()
  })

  it('the Redis session index forgets a jti so the logout can be retried', async () => {
    const index = createRedisSessionIndex(client, { prefix: 'rg3:' })
    expect(await index.firstUse('iss jti-a', 60)).toBe(true)
    expect(await index.firstUse('iss jti-a', 60)).toBe(false)
    await index.forget('iss jti-a')
    expect(await index.firstUse('iss jti-a', 60)).toBe(true)
  })

  it('release and extension stay owner-only', async () => {
    const lock = createRedisLock(client, { prefix: 'rg2:', ttl: 300 })
    const release = await lock.acquire('k')
    // The lock was lost and taken by someone else (simulated).
    await client.set('rg2:k', 'someone-else', { PX: 5000 })
    await sleep(400)
    expect(await client.pTTL('rg2:k')).toBeLessThanOrEqual(5000)
    expect(await client.pTTL('rg2:k')).toBeGreaterThan(4000)
    await release()
    expect(await client.get('rg2:k')).toBe('someone-else')
  })
})

/** A MemoryStore whose next `destroy` fails once when armed. */
class FlakyStore extends session.MemoryStore {
  failNextDestroy = false
  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    if (this.failNextDestroy) {
      this.failNextDestroy = false
      callback?.(new Error('store down for a moment'))
      return
    }
    super.destroy(sid, callback)
  }
}

describe('regression: back-channel logout retry refused as a replay after a failure', () => {
  let app: TestApp
  const store = new FlakyStore()
  const logoutTokens: string[] = []
  const clientId = 'web-backchannel-regression'
  const clientSecret = 'web-backchannel-regression-secret-for-local-tests'
  beforeAll(async () => {
    app = await startTestApp({
      as,
      store,
      clientId,
      clientSecret,
      before: (a) => {
        a.post(
          '/backchannel-logout',
          express.urlencoded({ extended: false }),
          (req, _res, next) => {
            if (typeof req.body?.logout_token === 'string') logoutTokens.push(req.body.logout_token)
            next()
          },
        )
      },
    })
    await addBackchannelClient(as, {
      clientId,
      clientSecret,
      backchannelLogoutUri: `${app.url}/backchannel-logout`,
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  it("the OP's retry with the same logout token ends the session", async () => {
    const agent = new Agent(app.url)
    expect((await agent.login()).status).toBe(302)
    expect((await agent.json('/me')).status).toBe(200)
    store.failNextDestroy = true
    await completeLogout(`${as.issuer}/session/end`, { cookieJar: agent.asJar })
    const end = Date.now() + 5000
    while (logoutTokens.length === 0 && Date.now() < end) await sleep(50)
    expect(logoutTokens.length).toBe(1)
    // The first delivery failed on our side: the session is still alive.
    expect(store.failNextDestroy).toBe(false)
    expect((await agent.json('/me')).status).toBe(200)
    // The OP retries with the same token.
    const retry = await fetch(`${app.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutTokens[0]! }).toString(),
    })
    expect(retry.status).toBe(200)
    expect((await agent.json('/me')).status).toBe(401)
    // A replay after a completed logout is still refused.
    const replay = await fetch(`${app.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutTokens[0]! }).toString(),
    })
    expect(replay.status).toBe(400)
  })
})

// examples/web-app from its tsc output: build first (`npx tsc -b`).
const WEB_APP = fileURLToPath(new URL('../examples/web-app/dist/index.js', import.meta.url))

describe('regression: web-app body-parser errors answered 500', () => {
  let child: Child | undefined
  let base = ''
  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    child = spawnNode(WEB_APP, {
      ...baseEnv(),
      ...webAppEnv(as),
      PORT: String(port),
      BASE_URL: base,
      SESSION_SECRET: 'regression-session-secret-0123456789abcdef',
    })
    await waitForOutput(child, /listening/)
  })
  afterAll(async () => {
    if (child !== undefined) await stopChild(child)
  })

  const form = 'application/x-www-form-urlencoded'
  const cases = [
    { path: '/callback', type: form, body: `state=${'a'.repeat(70_000)}`, status: 413 },
    { path: '/callback', type: `${form}; charset=koi8-r`, body: 'state=a', status: 415 },
    {
      path: '/backchannel-logout',
      type: form,
      body: `logout_token=${'a'.repeat(70_000)}`,
      status: 413,
    },
    {
      path: '/backchannel-logout',
      type: `${form}; charset=koi8-r`,
      body: 'logout_token=a',
      status: 415,
    },
  ]
  for (const c of cases) {
    it(`POST ${c.path} (${c.type.includes('charset') ? 'bad charset' : '70 KB'}) -> ${c.status}`, async () => {
      const res = await fetch(`${base}${c.path}`, {
        method: 'POST',
        headers: { 'content-type': c.type, accept: 'application/json' },
        body: c.body,
      })
      expect(res.status).toBe(c.status)
      const text = await res.text()
      expect(text).not.toContain('aaaa')
      expect(text).not.toContain('koi8')
    })
  }
})

describe('regression: web-app accepted an unusable CLIENT_PRIVATE_KEY at start', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'codegrant-key-'))
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const env = (keyFile: string): Record<string, string> => ({
    ...baseEnv(),
    ...webAppEnv(as),
    PORT: '0',
    CLIENT_AUTH_METHOD: 'private_key_jwt',
    CLIENT_PRIVATE_KEY: keyFile,
    SESSION_SECRET: 'regression-session-secret-0123456789abcdef',
  })
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })

  const bad: Array<[string, string]> = [
    ['a public JWK', JSON.stringify(publicKey.export({ format: 'jwk' }))],
    ['a truncated public JWK', '{"kty":"RSA","n":"abc","e":"AQAB"}'],
    ['a PEM with garbage', '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n'],
    ['a public key PEM', publicKey.export({ format: 'pem', type: 'spki' }).toString()],
  ]
  for (const [label, content] of bad) {
    it(`stops at start with one line naming CLIENT_PRIVATE_KEY for ${label}`, async () => {
      const file = join(dir, `${label.replaceAll(' ', '-')}.key`)
      writeFileSync(file, content)
      const result = await runToExit(WEB_APP, env(file))
      expect(result.code).not.toBe(0)
      expect(result.stdout).not.toContain('listening')
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('CLIENT_PRIVATE_KEY')
    })
  }

  for (const [label, content] of [
    ['a private JWK', JSON.stringify(privateKey.export({ format: 'jwk' }))],
    ['a private PEM', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
  ] as const) {
    it(`still starts with ${label}`, async () => {
      const file = join(dir, `${label.replaceAll(' ', '-')}.key`)
      writeFileSync(file, content)
      const child = spawnNode(WEB_APP, env(file))
      try {
        await waitForOutput(child, /listening/)
      } finally {
        await stopChild(child)
      }
    })
  }
})
