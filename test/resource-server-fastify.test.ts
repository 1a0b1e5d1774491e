// @codegrant/resource-server/fastify against real tokens from oidc-provider (JWT, opaque,
// DPoP-bound), driven over HTTP through a real Fastify server on 127.0.0.1.
import { createHash, randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  defaultAudience,
  demoUser,
  localClients,
  opaqueAudience,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { createVerifier, type VerifierOptions } from '@codegrant/resource-server'
import {
  fastifyResourceServer,
  protectedResourceMetadata,
  requireScopes,
} from '@codegrant/resource-server/fastify'
import { getAccessToken, getTokens } from './resource-server-helpers.js'
import { freePort } from './support/ports.js'

let as: LocalAs
const apps: FastifyInstance[] = []

beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as.close()
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** A Fastify API like examples/api: public, private, messages (scope) and RFC 9728 metadata. */
async function start(options: Partial<VerifierOptions> = {}) {
  const app = Fastify()
  apps.push(app)
  // The port is chosen first, so the metadata URL (which names it) is known to the verifier.
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const verifier = createVerifier({
    issuer: as.issuer,
    audience: defaultAudience,
    resourceMetadata: {
      resource: options.audience === undefined ? defaultAudience : String(options.audience),
      url: `${base}/.well-known/oauth-protected-resource`,
    },
    ...options,
  })
  await app.register(protectedResourceMetadata, { verifier })
  await app.register(fastifyResourceServer, { verifier })
  app.get('/api/public', async () => ({ ok: true }))
  app.get('/api/private', { onRequest: app.requireToken() }, async (request) => ({
    sub: request.accessToken?.sub,
    scope: request.accessToken?.scopes.join(' '),
    format: request.accessToken?.format,
    type: request.accessToken?.tokenType,
  }))
  app.get(
    '/api/messages',
    { onRequest: app.requireToken({ scopes: ['read:messages'] }) },
    async () => ({ messages: [] }),
  )
  app.get(
    '/api/admin',
    { onRequest: [app.requireToken(), requireScopes('admin:all')] },
    async () => ({ ok: true }),
  )
  await app.listen({ port, host: '127.0.0.1' })
  return { base, meta: `resource_metadata="${base}/.well-known/oauth-protected-resource"` }
}

const get = (url: string, token?: string) =>
  fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

describe('Fastify resource server with oidc-provider tokens', () => {
  it('accepts a JWT access token, and refuses missing, forged and expired ones with a challenge', async () => {
    const { base, meta } = await start({ strict: true })
    expect((await get(`${base}/api/public`)).status).toBe(200)
    const none = await get(`${base}/api/private`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe(`Bearer realm="api", ${meta}`)
    expect(await none.json()).toEqual({
      error: 'unauthorized',
      error_description: 'An access token is required',
    })

    const token = await getAccessToken(as, { resource: defaultAudience })
    const ok = await get(`${base}/api/private`, token)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({
      sub: demoUser.claims.sub,
      scope: 'read:messages',
      format: 'jwt',
      type: 'Bearer',
    })

    const [header, payload, signature] = token.split('.') as [string, string, string]
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
    const forged = await get(`${base}/api/private`, `${header}.${payload}.${flipped}`)
    expect(forged.status).toBe(401)
    expect(forged.headers.get('www-authenticate')).toMatch(
      new RegExp(`^Bearer error="invalid_token", error_description="[^"]+", ${meta}$`),
    )

    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 2 * 3600_000)
    const expired = await get(`${base}/api/private`, token)
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token expired", ${meta}`,
    )
    expect(await expired.json()).toEqual({
      error: 'invalid_token',
      error_description: 'The access token expired',
    })
  })

  it('answers a missing scope with 403 insufficient_scope', async () => {
    const { base, meta } = await start()
    const token = await getAccessToken(as, { resource: defaultAudience })
    expect((await get(`${base}/api/messages`, token)).status).toBe(200)
    const admin = await get(`${base}/api/admin`, token)
    expect(admin.status).toBe(403)
    expect(admin.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="admin:all", ${meta}`,
    )
    const openidOnly = await getAccessToken(as, { resource: defaultAudience, scope: 'openid' })
    const messages = await get(`${base}/api/messages`, openidOnly)
    expect(messages.status).toBe(403)
    expect(messages.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="read:messages", ${meta}`,
    )
  })

  it('validates an opaque token by introspection', async () => {
    const introspector = localClients.apiIntrospector
    const { base } = await start({
      audience: opaqueAudience,
      introspection: {
        clientId: introspector.clientId,
        clientSecret: introspector.clientSecret!,
      },
    })
    const token = await getAccessToken(as, { resource: opaqueAudience })
    expect(token.split('.').length).toBe(1)
    const res = await get(`${base}/api/private`, token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      sub: demoUser.claims.sub,
      scope: 'read:messages',
      format: 'opaque',
      type: 'Bearer',
    })
    const unknown = await get(`${base}/api/private`, 'not-a-token-the-as-issued')
    expect(unknown.status).toBe(401)
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
  })

  it('accepts a DPoP-bound token with a proof for the URL called, and refuses it as Bearer', async () => {
    const { base } = await start()
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
    const res = await fetch(`${base}/api/private?page=1`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof('GET', `${base}/api/private`, { ath }),
      },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ type: 'DPoP', sub: demoUser.claims.sub })
    const wrongMethod = await fetch(`${base}/api/private`, {
      headers: { authorization: `DPoP ${token}`, dpop: await proof('POST', `${base}/api/private`) },
    })
    expect(wrongMethod.status).toBe(401)
    expect(wrongMethod.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
    expect((await get(`${base}/api/private`, token)).status).toBe(401)
  })

  it('serves the RFC 9728 metadata document with the scopes of its routes', async () => {
    const { base } = await start()
    const res = await fetch(`${base}/.well-known/oauth-protected-resource`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      resource: defaultAudience,
      authorization_servers: [as.issuer],
      scopes_supported: ['read:messages'],
      bearer_methods_supported: ['header'],
    })
  })
})
