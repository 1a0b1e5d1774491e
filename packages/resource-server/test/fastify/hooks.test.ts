import { createHash, randomUUID, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/index.js'
import {
  fastifyResourceServer,
  requireAccess,
  requireToken,
  requireScopes,
} from '../../src/fastify/index.js'
import { jwkThumbprint } from '../../src/dpop.js'
import { ath, AUDIENCE, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from '../helpers.js'

let rsa: SigningKey
const apps: FastifyInstance[] = []
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url))

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** Log lines at warn level and above: a second reply or a hook error would show here. */
function logSink() {
  const lines: { level: number; msg: string }[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as { level: number; msg: string })
      callback()
    },
  })
  return { stream, problems: () => lines.filter((l) => l.level >= 40) }
}

function verifierOf(extra: Partial<VerifierOptions> = {}): Verifier {
  const as = fakeAs([rsa.publicJwk])
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch, ...extra })
}

async function app(extra: Partial<VerifierOptions> = {}) {
  const logs = logSink()
  const a = Fastify({ logger: { level: 'warn', stream: logs.stream } })
  apps.push(a)
  const handled = { count: 0 }
  await a.register(fastifyResourceServer, { verifier: verifierOf(extra) })
  a.get('/api/public', async () => ({ ok: true }))
  a.get('/api/private', { onRequest: a.requireToken() }, async (request) => {
    handled.count++
    return { sub: request.accessToken?.sub, scope: request.accessToken?.scopes.join(' ') }
  })
  a.get('/api/messages', { onRequest: a.requireToken({ scopes: ['read:messages'] }) }, async () => {
    handled.count++
    return { messages: [] }
  })
  a.get(
    '/api/admin',
    {
      onRequest: [a.requireToken(), requireAccess({ scopes: ['admin', 'root'], scopeMode: 'any' })],
    },
    async () => ({ ok: true }),
  )
  a.get(
    '/api/step-up',
    { onRequest: a.requireToken({ acrValues: ['gold'], maxAuthAge: 300 }) },
    async () => ({ ok: true }),
  )
  a.get('/api/claims', { onRequest: a.requireToken({ claims: { tenant: 'acme' } }) }, async () => ({
    ok: true,
  }))
  return { app: a, handled, logs }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('Fastify adapter', () => {
  it('answers a request without a token with 401, a bare realm challenge and a JSON body', async () => {
    const { app: a, handled, logs } = await app()
    const res = await a.inject({ url: '/api/private' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'An access token is required',
    })
    expect(handled.count).toBe(0)
    expect((await a.inject({ url: '/api/public' })).statusCode).toBe(200)
    expect(logs.problems()).toEqual([])
  })

  it('sets request.accessToken for a valid token, from the cache the second time', async () => {
    const { app: a, handled } = await app()
    const token = await mint(rsa, { scope: 'read:messages profile' })
    for (let i = 0; i < 2; i++) {
      const res = await a.inject({ url: '/api/private', headers: bearer(token) })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ sub: 'user-1', scope: 'read:messages profile' })
      expect(res.body).not.toContain(token)
    }
    expect(handled.count).toBe(2)
  })

  it('re-checks the expiry of a cached token', async () => {
    const { app: a } = await app({ clockTolerance: 0 })
    const token = await mint(rsa, { exp: now() + 60 })
    expect((await a.inject({ url: '/api/private', headers: bearer(token) })).statusCode).toBe(200)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    const expired = await a.inject({ url: '/api/private', headers: bearer(token) })
    expect(expired.statusCode).toBe(401)
    expect(expired.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    )
  })

  it('answers an expired or forged token with 401 invalid_token and no internals', async () => {
    const { app: a, handled, logs } = await app()
    const expired = await mint(rsa, { exp: now() - 60, iat: now() - 120 })
    const res = await a.inject({ url: '/api/private', headers: bearer(expired) })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    )
    expect(res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'The access token expired',
    })
    const other = await makeKey('RS256', 'rsa-1')
    const forged = await a.inject({ url: '/api/private', headers: bearer(await mint(other)) })
    expect(forged.statusCode).toBe(401)
    expect(forged.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
    expect(handled.count).toBe(0)
    expect(logs.problems()).toEqual([])
  })

  it('answers a missing scope with 403 and the exact contract challenge', async () => {
    const { app: a, handled } = await app()
    const res = await a.inject({
      url: '/api/messages',
      headers: bearer(await mint(rsa, { scope: 'profile' })),
    })
    expect(res.statusCode).toBe(403)
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_scope", scope="read:messages"',
    )
    expect(res.json()).toMatchObject({ error: 'insufficient_scope' })
    expect(handled.count).toBe(0)
    const ok = await a.inject({ url: '/api/messages', headers: bearer(await mint(rsa)) })
    expect(ok.statusCode).toBe(200)
    const any = await a.inject({
      url: '/api/admin',
      headers: bearer(await mint(rsa, { scope: 'root' })),
    })
    expect(any.statusCode).toBe(200)
    const none = await a.inject({ url: '/api/admin', headers: bearer(await mint(rsa)) })
    expect(none.statusCode).toBe(403)
  })

  it('asks for step-up with 401 insufficient_user_authentication, and checks claims (403)', async () => {
    const { app: a } = await app()
    const silver = await a.inject({
      url: '/api/step-up',
      headers: bearer(await mint(rsa, { acr: 'silver', auth_time: now() })),
    })
    expect(silver.statusCode).toBe(401)
    expect(silver.headers['www-authenticate']).toContain('error="insufficient_user_authentication"')
    expect(silver.headers['www-authenticate']).toContain('acr_values="gold"')
    expect(silver.headers['www-authenticate']).toContain('max_age="300"')
    const old = await a.inject({
      url: '/api/step-up',
      headers: bearer(await mint(rsa, { acr: 'gold', auth_time: now() - 1000 })),
    })
    expect(old.statusCode).toBe(401)
    const gold = await a.inject({
      url: '/api/step-up',
      headers: bearer(await mint(rsa, { acr: 'gold', auth_time: now() })),
    })
    expect(gold.statusCode).toBe(200)
    const claims = await a.inject({ url: '/api/claims', headers: bearer(await mint(rsa)) })
    expect(claims.statusCode).toBe(403)
    const tenant = await a.inject({
      url: '/api/claims',
      headers: bearer(await mint(rsa, { tenant: 'acme' })),
    })
    expect(tenant.statusCode).toBe(200)
  })

  it('answers 400 invalid_request for a token sent twice', async () => {
    const { app: a } = await app({ allowQueryToken: true })
    const token = await mint(rsa)
    const twice = await a.inject({
      url: `/api/private?access_token=${token}`,
      headers: bearer(token),
    })
    expect(twice.statusCode).toBe(400)
    expect(twice.headers['www-authenticate']).toMatch(/^Bearer error="invalid_request"/)
    expect((await a.inject({ url: `/api/private?access_token=${token}` })).statusCode).toBe(200)
  })

  it('reads a form-body token in preHandler, once the body is parsed', async () => {
    const a = Fastify()
    apps.push(a)
    a.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        done(null, new URLSearchParams(body as string))
      },
    )
    const verifier = verifierOf({ allowBodyToken: true })
    a.post('/api/form', { preHandler: requireToken({ verifier }) }, async (request) => ({
      sub: request.accessToken?.sub,
    }))
    const res = await a.inject({
      method: 'POST',
      url: '/api/form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `access_token=${await mint(rsa)}`,
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ sub: 'user-1' })
  })

  it('requireScopes() without requireToken() before it answers 401', async () => {
    const a = Fastify()
    apps.push(a)
    a.get('/x', { onRequest: requireScopes('read:messages') }, async () => ({ ok: true }))
    const res = await a.inject({ url: '/x', headers: bearer(await mint(rsa)) })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(() => requireAccess({})).toThrow(TypeError)
  })

  it('hands errors other than refusals to the Fastify error handler', async () => {
    const a = Fastify()
    apps.push(a)
    const seen: unknown[] = []
    a.setErrorHandler((err, _request, reply) => {
      seen.push(err)
      return reply.code(500).send({ error: 'server_error' })
    })
    const broken: Verifier = { verify: () => Promise.reject(new Error('boom')) }
    a.get('/x', { onRequest: requireToken({ verifier: broken }) }, async () => ({ ok: true }))
    const res = await a.inject({ url: '/x', headers: bearer('abc') })
    expect(res.statusCode).toBe(500)
    expect(seen).toHaveLength(1)
    expect((seen[0] as Error).message).toBe('boom')
  })

  it('answers 503 without a challenge while the keys are unavailable', async () => {
    const as = fakeAs([rsa.publicJwk])
    as.jwksDown = true
    const a = Fastify()
    apps.push(a)
    const warnings: string[] = []
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
      logger: { warn: (message) => warnings.push(message) },
    })
    a.get('/x', { onRequest: requireToken({ verifier }) }, async () => ({ ok: true }))
    const res = await a.inject({ url: '/x', headers: bearer(await mint(rsa)) })
    expect(res.statusCode).toBe(503)
    expect(warnings.length).toBeGreaterThan(0)
    expect(res.headers['www-authenticate']).toBeUndefined()
    expect(res.json()).toMatchObject({ error: 'temporarily_unavailable' })
  })

  it('type-checks a route with its own generics', async () => {
    const { app: a } = await app()
    a.get<{ Querystring: { page?: string } }>(
      '/api/typed',
      { onRequest: a.requireToken() },
      async (request) => ({ page: request.query.page ?? '1', sub: request.accessToken?.sub }),
    )
    const res = await a.inject({ url: '/api/typed?page=2', headers: bearer(await mint(rsa)) })
    expect(res.json()).toEqual({ page: '2', sub: 'user-1' })
  })
})

describe('Fastify plugin encapsulation', () => {
  it('decorates the context it is registered in and its children, not its siblings', async () => {
    const a = Fastify()
    apps.push(a)
    const verifier = verifierOf()
    let sibling: boolean | undefined
    let child: boolean | undefined
    await a.register(async (api) => {
      await api.register(fastifyResourceServer, { verifier })
      api.addHook('onRequest', api.requireToken())
      api.get('/api/private', async (request) => ({ sub: request.accessToken?.sub }))
      await api.register(async (inner) => {
        child = inner.hasDecorator('requireToken')
      })
    })
    await a.register(async (other) => {
      sibling = other.hasDecorator('requireToken')
      other.get('/open', async () => ({ ok: true }))
    })
    await a.ready()
    expect(child).toBe(true)
    expect(sibling).toBe(false)
    expect(a.hasDecorator('requireToken')).toBe(false)
    expect((await a.inject({ url: '/api/private' })).statusCode).toBe(401)
    expect((await a.inject({ url: '/open' })).statusCode).toBe(200)
    const ok = await a.inject({ url: '/api/private', headers: bearer(await mint(rsa)) })
    expect(ok.json()).toEqual({ sub: 'user-1' })
  })

  it('takes verifier options as well, and refuses bad ones when it loads', async () => {
    const a = Fastify()
    apps.push(a)
    const as = fakeAs([rsa.publicJwk])
    await a.register(fastifyResourceServer, { issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    a.get('/x', { onRequest: a.requireToken() }, async () => ({ ok: true }))
    expect((await a.inject({ url: '/x', headers: bearer(await mint(rsa)) })).statusCode).toBe(200)
    const bad = Fastify()
    apps.push(bad)
    await expect(
      bad.register(fastifyResourceServer, { issuer: ISSUER, audience: '' }),
    ).rejects.toThrow(TypeError)
  })
})

describe('Fastify sender constraints', () => {
  it('checks DPoP proofs against the URL the client called, honouring trustProxy only when set', async () => {
    const pair = await generateKeyPair('ES256')
    const jwk = await exportJWK(pair.publicKey)
    const token = await mint(rsa, { cnf: { jkt: jwkThumbprint(jwk as Record<string, unknown>) } })
    const proof = (htu: string, htm = 'GET') =>
      new SignJWT({ jti: randomUUID(), htm, htu, iat: now(), ath: ath(token) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(pair.privateKey)
    const build = (trustProxy: boolean) => {
      const a = Fastify({ trustProxy })
      apps.push(a)
      a.get('/api/private', { onRequest: requireToken({ verifier }) }, async (request) => ({
        type: request.accessToken?.tokenType,
      }))
      return a
    }
    const verifier = verifierOf()
    const direct = build(false)
    const ok = await direct.inject({
      url: '/api/private?x=1',
      headers: {
        host: 'api.local:8080',
        authorization: `DPoP ${token}`,
        dpop: await proof('http://api.local:8080/api/private'),
      },
    })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ type: 'DPoP' })
    const wrong = await direct.inject({
      url: '/api/private',
      headers: {
        host: 'api.local:8080',
        authorization: `DPoP ${token}`,
        dpop: await proof('http://api.local:8080/api/other'),
      },
    })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof"/)
    const forwarded = {
      host: 'internal:3000',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      authorization: `DPoP ${token}`,
    }
    // Without trustProxy the forwarded headers are ignored: the proof for the public URL fails.
    const untrusted = await direct.inject({
      url: '/api/private',
      headers: { ...forwarded, dpop: await proof('https://api.example.com/api/private') },
    })
    expect(untrusted.statusCode).toBe(401)
    const proxied = build(true)
    const trusted = await proxied.inject({
      url: '/api/private',
      headers: { ...forwarded, dpop: await proof('https://api.example.com/api/private') },
    })
    expect(trusted.statusCode).toBe(200)
    const asBearer = await direct.inject({ url: '/api/private', headers: bearer(token) })
    expect(asBearer.statusCode).toBe(401)
  })

  it('reads the TLS client certificate from request.raw.socket (RFC 8705)', async () => {
    const a = Fastify({
      https: {
        key: fixture('server.key'),
        cert: fixture('server.pem'),
        requestCert: true,
        rejectUnauthorized: false,
      },
    })
    apps.push(a)
    a.get('/api/private', { onRequest: requireToken({ verifier: verifierOf() }) }, async (r) => ({
      sub: r.accessToken?.sub,
    }))
    await a.listen({ port: 0, host: '127.0.0.1' })
    const port = (a.server.address() as AddressInfo).port
    const x5t = createHash('sha256')
      .update(new X509Certificate(fixture('client.pem')).raw)
      .digest('base64url')
    const token = await mint(rsa, { cnf: { 'x5t#S256': x5t } })
    const get = (withCert: boolean) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/api/private',
            ca: fixture('server.pem'),
            ...(withCert ? { cert: fixture('client.pem'), key: fixture('client.key') } : {}),
            headers: { authorization: `Bearer ${token}` },
            agent: false,
          },
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          },
        )
        req.on('error', reject)
        req.end()
      })
    expect(await get(true)).toBe(200)
    expect(await get(false)).toBe(401)
  })
})
