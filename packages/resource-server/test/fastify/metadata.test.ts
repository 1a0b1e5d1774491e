import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, type VerifierOptions } from '../../src/index.js'
import {
  fastifyResourceServer,
  protectedResourceMetadata,
  requireToken,
  requireScopes,
} from '../../src/fastify/index.js'
import { AUDIENCE, fakeAs, ISSUER, makeKey, mint, type SigningKey } from '../helpers.js'

let rsa: SigningKey
const apps: FastifyInstance[] = []

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

function verifierOf(
  resourceMetadata: VerifierOptions['resourceMetadata'] = {},
  audience = AUDIENCE,
) {
  const as = fakeAs([rsa.publicJwk])
  return createVerifier({ issuer: ISSUER, audience, fetch: as.fetch, resourceMetadata })
}

function fastify(): FastifyInstance {
  const a = Fastify()
  apps.push(a)
  return a
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource'

describe('Fastify protected resource metadata (RFC 9728)', () => {
  it('serves the document with the scopes that route guards registered when they were made', async () => {
    const a = fastify()
    const verifier = verifierOf()
    await a.register(protectedResourceMetadata, { verifier })
    await a.register(fastifyResourceServer, { verifier })
    a.get(
      '/api/messages',
      { onRequest: a.requireToken({ scopes: ['read:messages'] }) },
      async () => ({
        messages: [],
      }),
    )
    a.get(
      '/api/write',
      { onRequest: requireToken({ verifier, scopes: 'write:messages' }) },
      async () => ({
        ok: true,
      }),
    )
    const res = await a.inject({ url: WELL_KNOWN })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['cache-control']).toBe('public, max-age=300')
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(res.json()).toEqual({
      resource: AUDIENCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['read:messages', 'write:messages'],
      bearer_methods_supported: ['header'],
    })
    const head = await a.inject({ method: 'HEAD', url: WELL_KNOWN })
    expect(head.statusCode).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(res.body)))
    const post = await a.inject({ method: 'POST', url: WELL_KNOWN })
    expect(post.statusCode).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
  })

  it('names the document in every 401 and 403 challenge', async () => {
    const a = fastify()
    const verifier = verifierOf()
    await a.register(protectedResourceMetadata, { verifier })
    a.get(
      '/api/messages',
      { onRequest: [requireToken({ verifier }), requireScopes('read:messages')] },
      async () => ({ ok: true }),
    )
    const meta = `resource_metadata="${AUDIENCE}${WELL_KNOWN}"`
    const none = await a.inject({ url: '/api/messages' })
    expect(none.statusCode).toBe(401)
    expect(none.headers['www-authenticate']).toBe(`Bearer realm="api", ${meta}`)
    const scope = await a.inject({
      url: '/api/messages',
      headers: { authorization: `Bearer ${await mint(rsa, { scope: 'profile' })}` },
    })
    expect(scope.statusCode).toBe(403)
    expect(scope.headers['www-authenticate']).toBe(
      `Bearer error="insufficient_scope", scope="read:messages", ${meta}`,
    )
    // requireScopes() registers its scope on the first token it sees.
    expect((await a.inject({ url: WELL_KNOWN })).json()).toMatchObject({
      scopes_supported: ['read:messages'],
    })
  })

  it('serves the path-inserted form for a resource with a path (RFC 9728 §3.1)', async () => {
    const a = fastify()
    const resource = 'https://api.example.com/v1'
    const verifier = verifierOf({ url: 'https://api.example.com/meta.json' }, resource)
    await a.register(protectedResourceMetadata, { verifier })
    const atUrl = await a.inject({ url: '/meta.json' })
    expect(atUrl.statusCode).toBe(200)
    const inserted = await a.inject({ url: `${WELL_KNOWN}/v1` })
    expect(inserted.statusCode).toBe(200)
    expect(inserted.json()).toMatchObject({ resource })
    expect((await a.inject({ url: WELL_KNOWN })).statusCode).toBe(404)
  })

  it('refuses a verifier without resourceMetadata, and a prefix', async () => {
    const as = fakeAs([rsa.publicJwk])
    const plain = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    await expect(
      fastify().register(protectedResourceMetadata, { verifier: plain }),
    ).rejects.toThrow(/resourceMetadata/)
    await expect(
      fastify().register(protectedResourceMetadata, { verifier: verifierOf(), prefix: '/api' }),
    ).rejects.toThrow(/without a prefix/)
  })
})
