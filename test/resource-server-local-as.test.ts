// @codegrant/resource-server against real tokens from oidc-provider (JWT and opaque), driven over
// HTTP through a real Express app, including faults of the JWKS and introspection endpoints.
import { createHash, randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  defaultAudience,
  localClients,
  opaqueAudience,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { createVerifier, type VerifierOptions } from '@codegrant/resource-server'
import { tokenErrorHandler, requireToken, requireScopes } from '@codegrant/resource-server/express'
import { basicAuth, getAccessToken, getTokens } from './resource-server-helpers.js'

let as: LocalAs
const servers: Server[] = []

beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as.close()
})
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))),
  )
})

/** A fetch that fails for URLs matching `down` while it is set: the AS's endpoints go away. */
function faultyFetch() {
  const state = { down: undefined as RegExp | undefined, calls: [] as string[] }
  const fetchImpl: typeof fetch = (input, init) => {
    const url = String(input)
    state.calls.push(url)
    if (state.down?.test(url) === true) return Promise.reject(new TypeError('fetch failed'))
    return fetch(input, init)
  }
  return { state, fetch: fetchImpl }
}

async function api(options: Partial<VerifierOptions> = {}): Promise<string> {
  const verifier = createVerifier({ issuer: as.issuer, audience: defaultAudience, ...options })
  const app = express()
  const auth = requireToken({ verifier })
  app.get('/api/private', auth, (req, res) => {
    res.json({
      sub: req.accessToken?.sub,
      scope: req.accessToken?.scopes.join(' '),
      format: req.accessToken?.format,
    })
  })
  app.get('/api/messages', auth, requireScopes('read:messages'), (_req, res) => {
    res.json({ messages: [] })
  })
  app.use(tokenErrorHandler())
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
  })

describe('resource server with oidc-provider tokens', () => {
  it('accepts its JWT access tokens (typ at+jwt) for the API audience', async () => {
    const base = await api({ strict: true })
    const token = await getAccessToken(as, { resource: defaultAudience })
    const res = await get(`${base}/api/private`, token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      sub: 'demo-user-1',
      scope: 'read:messages',
      format: 'jwt',
    })
    expect((await get(`${base}/api/messages`, token)).status).toBe(200)
  })

  it('answers 403 insufficient_scope for a token without read:messages', async () => {
    const base = await api()
    const token = await getAccessToken(as, {
      resource: defaultAudience,
      scope: 'openid write:messages',
    })
    expect((await get(`${base}/api/private`, token)).status).toBe(200)
    const res = await get(`${base}/api/messages`, token)
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="read:messages"',
    )
  })

  it('refuses its ID tokens, tokens for other APIs, and no token', async () => {
    const base = await api()
    const tokens = await getTokens(as, { resource: defaultAudience })
    const id = await get(`${base}/api/private`, tokens.id_token as string)
    expect(id.status).toBe(401)
    expect(id.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    const other = await api({ audience: 'urn:another:api' })
    expect((await get(`${other}/api/private`, tokens.access_token as string)).status).toBe(401)
    const none = await get(`${base}/api/private`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })

  it('accepts DPoP-bound tokens with a proof and refuses them as Bearer', async () => {
    const base = await api()
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = await exportJWK(publicKey)
    const proof = (htm: string, htu: string, extra: Record<string, unknown> = {}) =>
      new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...extra })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey)
    const tokens = await getTokens(as, {
      client: localClients.webDpop,
      resource: defaultAudience,
      dpop: await proof('POST', new URL('/token', as.issuer).href),
    })
    expect(tokens.token_type).toBe('DPoP')
    const token = tokens.access_token as string
    const ath = createHash('sha256').update(token).digest('base64url')
    const res = await fetch(`${base}/api/private`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof('GET', `${base}/api/private`, { ath }),
      },
    })
    expect(res.status).toBe(200)
    const asBearer = await get(`${base}/api/private`, token)
    expect(asBearer.status).toBe(401)
    const wrongUrl = await fetch(`${base}/api/private`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof('GET', `${base}/api/other`, { ath }),
      },
    })
    expect(wrongUrl.status).toBe(401)
    expect(wrongUrl.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
  })

  it('validates opaque tokens by introspection and sees their revocation', async () => {
    const introspector = localClients.apiIntrospector
    const base = await api({
      audience: opaqueAudience,
      introspection: {
        clientId: introspector.clientId,
        clientSecret: introspector.clientSecret!,
        cacheTtl: 0,
        negativeCacheTtl: 0,
      },
    })
    const token = await getAccessToken(as, { resource: opaqueAudience })
    expect(token.split('.').length).toBe(1)
    const res = await get(`${base}/api/private`, token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      sub: 'demo-user-1',
      scope: 'read:messages',
      format: 'opaque',
    })
    const revoke = await fetch(new URL('/token/revocation', as.issuer), {
      method: 'POST',
      headers: {
        authorization: basicAuth(
          localClients.webBasic.clientId,
          localClients.webBasic.clientSecret!,
        ),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    })
    expect(revoke.status).toBe(200)
    const after = await get(`${base}/api/private`, token)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
  })

  it('hybrid mode: JWTs locally and opaque tokens by introspection in one API', async () => {
    const introspector = localClients.apiIntrospector
    const faulty = faultyFetch()
    const base = await api({
      audience: [defaultAudience, opaqueAudience],
      fetch: faulty.fetch,
      introspection: { clientId: introspector.clientId, clientSecret: introspector.clientSecret! },
    })
    const jwt = await getAccessToken(as, { resource: defaultAudience })
    const opaque = await getAccessToken(as, { resource: opaqueAudience })
    expect(await (await get(`${base}/api/private`, jwt)).json()).toMatchObject({ format: 'jwt' })
    expect(await (await get(`${base}/api/private`, opaque)).json()).toMatchObject({
      format: 'opaque',
    })
    expect(faulty.state.calls.filter((u) => u.includes('introspection')).length).toBe(1)
  })
})

describe('faults', () => {
  it('JWKS endpoint down at start: 503, never accepted, then recovers without restart', async () => {
    const faulty = faultyFetch()
    faulty.state.down = /jwks/
    const base = await api({ fetch: faulty.fetch, jwksCooldown: 0 })
    const token = await getAccessToken(as, { resource: defaultAudience })
    const down = await get(`${base}/api/private`, token)
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'Token validation is unavailable',
    })
    faulty.state.down = undefined
    // the first retry waits for a short backoff (1 s)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const up = await get(`${base}/api/private`, token)
    expect(up.status).toBe(200)
  })

  it('whole AS down at start (discovery fails): 503, then recovers', async () => {
    const faulty = faultyFetch()
    faulty.state.down = /./
    const base = await api({ fetch: faulty.fetch })
    const token = await getAccessToken(as, { resource: defaultAudience })
    expect((await get(`${base}/api/private`, token)).status).toBe(503)
    faulty.state.down = undefined
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect((await get(`${base}/api/private`, token)).status).toBe(200)
  })

  it('introspection endpoint failing: 503, never accepted', async () => {
    const introspector = localClients.apiIntrospector
    const faulty = faultyFetch()
    const base = await api({
      audience: opaqueAudience,
      fetch: faulty.fetch,
      introspection: { clientId: introspector.clientId, clientSecret: introspector.clientSecret! },
    })
    const token = await getAccessToken(as, { resource: opaqueAudience })
    faulty.state.down = /introspection/
    const res = await get(`${base}/api/private`, token)
    expect(res.status).toBe(503)
    expect(res.headers.get('www-authenticate')).toBeNull()
    faulty.state.down = undefined
    expect((await get(`${base}/api/private`, token)).status).toBe(200)
  })

  it('introspection with wrong client credentials: 503, never accepted', async () => {
    const base = await api({
      audience: opaqueAudience,
      introspection: { clientId: localClients.apiIntrospector.clientId, clientSecret: 'wrong' },
    })
    const token = await getAccessToken(as, { resource: opaqueAudience })
    expect((await get(`${base}/api/private`, token)).status).toBe(503)
  })
})
