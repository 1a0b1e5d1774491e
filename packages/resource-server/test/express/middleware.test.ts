import { createHash, randomUUID, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier } from '../../src/index.js'
import {
  tokenErrorHandler,
  requireAccess,
  requireToken,
  requireScopes,
} from '../../src/express/index.js'
import { jwkThumbprint } from '../../src/dpop.js'
import { ath, AUDIENCE, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from '../helpers.js'

let rsa: SigningKey
const servers: Server[] = []
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url))

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))),
  )
})

function app(options: { handler?: boolean; extra?: Record<string, unknown> } = {}) {
  const as = fakeAs([rsa.publicJwk])
  const a = express()
  const auth = requireToken({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: as.fetch,
    ...options.extra,
  })
  a.get('/api/public', (_req, res) => {
    res.json({ ok: true })
  })
  a.get('/api/private', auth, (req, res) => {
    res.json({ sub: req.accessToken?.sub, scope: req.accessToken?.scopes.join(' ') })
  })
  a.get('/api/messages', auth, requireScopes('read:messages'), (_req, res) => {
    res.json({ messages: [] })
  })
  a.get(
    '/api/admin',
    auth,
    requireAccess({ scopes: ['admin', 'root'], scopeMode: 'any' }),
    (_req, res) => {
      res.json({ ok: true })
    },
  )
  a.get('/api/step-up', auth, requireAccess({ acrValues: ['gold'] }), (_req, res) => {
    res.json({ ok: true })
  })
  if (options.handler !== false) a.use(tokenErrorHandler())
  return listen(a)
}

async function listen(a: express.Express): Promise<string> {
  const server = a.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('Express adapter', () => {
  it('answers a request without a token with 401 and a bare realm challenge', async () => {
    const base = await app()
    const res = await fetch(`${base}/api/private`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'An access token is required',
    })
    expect((await fetch(`${base}/api/public`)).status).toBe(200)
  })

  it('sets req.accessToken for a valid token', async () => {
    const base = await app()
    const token = await mint(rsa, { scope: 'read:messages profile' })
    const res = await fetch(`${base}/api/private`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(JSON.parse(body)).toEqual({ sub: 'user-1', scope: 'read:messages profile' })
    expect(body).not.toContain(token)
  })

  it('serves a repeated token from the cache and still re-checks its expiry', async () => {
    const base = await app({ extra: { clockTolerance: 0 } })
    const token = await mint(rsa, { exp: now() + 60 })
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/api/private`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status).toBe(200)
    }
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    const expired = await fetch(`${base}/api/private`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toContain('The access token expired')
  })

  it('answers an invalid token with 401 invalid_token and no internals', async () => {
    const base = await app()
    const token = await mint(rsa, { exp: now() - 60, iat: now() - 120 })
    const res = await fetch(`${base}/api/private`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    )
    expect(await res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'The access token expired',
    })
  })

  it('answers a missing scope with 403 and the exact contract challenge', async () => {
    const base = await app()
    const token = await mint(rsa, { scope: 'profile' })
    const res = await fetch(`${base}/api/messages`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="read:messages"',
    )
    const ok = await fetch(`${base}/api/messages`, {
      headers: { authorization: `Bearer ${await mint(rsa)}` },
    })
    expect(ok.status).toBe(200)
    const any = await fetch(`${base}/api/admin`, {
      headers: { authorization: `Bearer ${await mint(rsa, { scope: 'root' })}` },
    })
    expect(any.status).toBe(200)
  })

  it('asks for step-up with 401 insufficient_user_authentication', async () => {
    const base = await app()
    const res = await fetch(`${base}/api/step-up`, {
      headers: { authorization: `Bearer ${await mint(rsa, { acr: 'silver' })}` },
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain(
      'error="insufficient_user_authentication"',
    )
    expect(res.headers.get('www-authenticate')).toContain('acr_values="gold"')
  })

  it("Express's default error handler honours the status and challenge", async () => {
    const base = await app({ handler: false })
    const res = await fetch(`${base}/api/messages`, {
      headers: { authorization: `Bearer ${await mint(rsa, { scope: 'profile' })}` },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="read:messages"',
    )
  })

  it('answers 400 invalid_request for a token sent twice', async () => {
    const base = await app({ extra: { allowQueryToken: true } })
    const token = await mint(rsa)
    const res = await fetch(`${base}/api/private?access_token=${token}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/)
    const query = await fetch(`${base}/api/private?access_token=${token}`)
    expect(query.status).toBe(200)
  })

  it('checks DPoP proofs against the URL the client called', async () => {
    const a = express()
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    a.get('/api/private', requireToken({ verifier }), (req, res) => {
      res.json({ type: req.accessToken?.tokenType })
    })
    a.use(tokenErrorHandler())
    const base = await listen(a)
    const pair = await generateKeyPair('ES256')
    const jwk = await exportJWK(pair.publicKey)
    const token = await mint(rsa, { cnf: { jkt: jwkThumbprint(jwk as Record<string, unknown>) } })
    const proof = (htu: string) =>
      new SignJWT({ jti: randomUUID(), htm: 'GET', htu, iat: now(), ath: ath(token) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(pair.privateKey)
    const ok = await fetch(`${base}/api/private?x=1`, {
      headers: { authorization: `DPoP ${token}`, dpop: await proof(`${base}/api/private`) },
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ type: 'DPoP' })
    const wrong = await fetch(`${base}/api/private`, {
      headers: { authorization: `DPoP ${token}`, dpop: await proof(`${base}/api/other`) },
    })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
    const asBearer = await fetch(`${base}/api/private`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(asBearer.status).toBe(401)
  })

  it('reads the TLS client certificate for certificate-bound tokens (RFC 8705)', async () => {
    const a = express()
    const as = fakeAs([rsa.publicJwk])
    a.get(
      '/api/private',
      requireToken({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch }),
      (req, res) => {
        res.json({ sub: req.accessToken?.sub })
      },
    )
    a.use(tokenErrorHandler())
    const server = createHttpsServer(
      {
        key: fixture('server.key'),
        cert: fixture('server.pem'),
        requestCert: true,
        rejectUnauthorized: false,
      },
      a,
    )
    servers.push(server as unknown as Server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
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
