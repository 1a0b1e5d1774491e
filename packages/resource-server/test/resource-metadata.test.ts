import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  checkAccess,
  createVerifier,
  getProtectedResourceMetadata,
  handleProtectedResourceMetadata,
  protectedResourceMetadataPaths,
  ResourceServerError,
  type VerifierOptions,
} from '../src/index.js'
import {
  tokenErrorHandler,
  protectedResourceMetadata,
  requireToken,
  requireScopes,
} from '../src/express/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, type SigningKey } from './helpers.js'

let rsa: SigningKey
const METADATA_URL = 'https://api.example.com/.well-known/oauth-protected-resource'
const servers: { close(): void }[] = []

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

function setup(options: Partial<VerifierOptions> = {}) {
  const as = fakeAs([rsa.publicJwk])
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: as.fetch,
    resourceMetadata: {},
    ...options,
  })
}

async function refusal(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

/** RFC 9728 section 2: members and their types; `resource` is the only required one. */
function expectValidDocument(doc: Record<string, unknown>, resource: string) {
  expect(doc.resource).toBe(resource)
  const arrays = [
    'authorization_servers',
    'scopes_supported',
    'bearer_methods_supported',
    'resource_signing_alg_values_supported',
    'dpop_signing_alg_values_supported',
  ]
  for (const name of arrays)
    if (name in doc) expect((doc[name] as unknown[]).every((v) => typeof v === 'string')).toBe(true)
  for (const name of [
    'tls_client_certificate_bound_access_tokens',
    'dpop_bound_access_tokens_required',
  ])
    if (name in doc) expect(typeof doc[name]).toBe('boolean')
  const known = new Set([
    'resource',
    ...arrays,
    'resource_name',
    'resource_documentation',
    'tls_client_certificate_bound_access_tokens',
    'dpop_bound_access_tokens_required',
  ])
  for (const name of Object.keys(doc)) expect(known).toContain(name)
}

describe('RFC 9728 protected resource metadata', () => {
  it('describes the resource: identifier, issuers, scopes, bearer methods', () => {
    const verifier = setup({ scopes: 'read:all', allowBodyToken: true })
    const doc = getProtectedResourceMetadata(verifier)
    expectValidDocument(doc as unknown as Record<string, unknown>, AUDIENCE)
    expect(doc).toEqual({
      resource: AUDIENCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['read:all'],
      bearer_methods_supported: ['header', 'body'],
    })
  })

  it('adds the DPoP and mTLS members when those are on, and the optional ones given', () => {
    const verifier = setup({
      dpop: { required: true, algorithms: ['ES256', 'EdDSA'] },
      resourceMetadata: {
        mtls: true,
        resourceName: 'Messages API',
        resourceDocumentation: 'https://api.example.com/docs',
        resourceSigningAlgorithms: ['ES256'],
      },
    })
    const doc = getProtectedResourceMetadata(verifier)
    expectValidDocument(doc as unknown as Record<string, unknown>, AUDIENCE)
    expect(doc).toMatchObject({
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
      tls_client_certificate_bound_access_tokens: true,
      resource_name: 'Messages API',
      resource_documentation: 'https://api.example.com/docs',
      resource_signing_alg_values_supported: ['ES256'],
    })
    expect(getProtectedResourceMetadata(setup())).not.toHaveProperty(
      'dpop_signing_alg_values_supported',
    )
  })

  it('is served at the well-known URI derived from the resource, path inserted (RFC 9728 §3.1)', () => {
    const verifier = setup({ audience: 'https://api.example.com/v1/' })
    expect(protectedResourceMetadataPaths(verifier)).toEqual([
      '/.well-known/oauth-protected-resource/v1',
    ])
    const answer = handleProtectedResourceMetadata(verifier, {
      method: 'GET',
      path: '/.well-known/oauth-protected-resource/v1',
    })
    expect(answer?.status).toBe(200)
    expect(answer?.headers['content-type']).toBe('application/json')
    // `resource` is the identifier the client derived the URL from (RFC 9728 §3.3).
    expect(JSON.parse(answer!.body).resource).toBe('https://api.example.com/v1/')
    expect(handleProtectedResourceMetadata(verifier, { method: 'GET', path: '/other' })).toBe(
      undefined,
    )
    expect(
      handleProtectedResourceMetadata(verifier, {
        method: 'POST',
        path: '/.well-known/oauth-protected-resource/v1',
      })?.status,
    ).toBe(405)
  })

  it('needs an explicit url for a resource that is not a URL, and validates it', () => {
    expect(() => setup({ audience: 'urn:example:api' })).toThrow('"resourceMetadata.url"')
    expect(() => setup({ resourceMetadata: { url: 'ftp://x/y' } })).toThrow(
      '"resourceMetadata.url"',
    )
    expect(() => setup({ resourceMetadata: { resource: 'https://a.example/#x' } })).toThrow(
      '"resourceMetadata.resource"',
    )
    const verifier = setup({ audience: 'urn:example:api', resourceMetadata: { url: METADATA_URL } })
    expect(protectedResourceMetadataPaths(verifier)).toEqual([
      '/.well-known/oauth-protected-resource',
    ])
    expect(getProtectedResourceMetadata(verifier).resource).toBe('urn:example:api')
    expect(() =>
      getProtectedResourceMetadata(createVerifier({ issuer: ISSUER, audience: AUDIENCE })),
    ).toThrow(TypeError)
  })

  it('names the metadata in every 401 and 403 challenge (RFC 9728 §5.1)', async () => {
    const verifier = setup()
    const missing = await refusal(verifier.verify({ headers: {} }))
    expect(missing.headers['www-authenticate']).toBe(
      `Bearer realm="api", resource_metadata="${METADATA_URL}"`,
    )
    const invalid = await refusal(verifier.verify(bearer('not.a.token')))
    expect(invalid.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
    expect(invalid.headers['www-authenticate']).toContain(`resource_metadata="${METADATA_URL}"`)
    const token = await mint(rsa, { scope: 'other' })
    const scope = await refusal(verifier.verify(bearer(token), { scopes: ['read:messages'] }))
    expect(scope.status).toBe(403)
    expect(scope.headers['www-authenticate']).toBe(
      `Bearer error="insufficient_scope", scope="read:messages", resource_metadata="${METADATA_URL}"`,
    )
    const dpop = await refusal(
      verifier.verify({
        headers: { authorization: `DPoP ${token}` },
        method: 'GET',
        url: AUDIENCE,
      }),
    )
    expect(dpop.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/)
    expect(dpop.headers['www-authenticate']).toContain(`resource_metadata="${METADATA_URL}"`)
    // checkAccess() on a token of this verifier answers the same way.
    const auth = await verifier.verify(bearer(token))
    let err: unknown
    try {
      checkAccess(auth, { scopes: ['write:messages'] })
    } catch (e) {
      err = e
    }
    expect((err as ResourceServerError).headers['www-authenticate']).toContain(
      `resource_metadata="${METADATA_URL}"`,
    )
  })

  it('a 503 carries no challenge', async () => {
    const as = fakeAs([rsa.publicJwk])
    as.down = true
    const verifier = setup({ fetch: as.fetch })
    const err = await refusal(verifier.verify(bearer(await mint(rsa))))
    expect(err.status).toBe(503)
    expect(err.headers['www-authenticate']).toBeUndefined()
  })

  it('lists the scopes of the route guards, so the 403 scope= is always one it names', async () => {
    const verifier = setup({ resourceMetadata: { scopes: ['profile'] } })
    const app = express()
    app.use(protectedResourceMetadata(verifier))
    app.get('/api/messages', requireToken({ verifier, scopes: ['read:messages'] }), (_req, res) => {
      res.json({ ok: true })
    })
    app.get('/api/admin', requireToken({ verifier }), requireScopes('admin'), (_req, res) => {
      res.json({ ok: true })
    })
    app.use(tokenErrorHandler())
    const server = app.listen(0)
    servers.push(server)
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const read = async () => {
      const res = await fetch(`${base}/.well-known/oauth-protected-resource`)
      expect(res.status).toBe(200)
      return (await res.json()) as { scopes_supported: string[] }
    }
    // Registered when the guard was made, before any request.
    expect((await read()).scopes_supported).toEqual(['profile', 'read:messages'])
    const token = await mint(rsa, { scope: 'profile' })
    const forbidden = await fetch(`${base}/api/messages`, bearer(token))
    expect(forbidden.status).toBe(403)
    const asked = /scope="([^"]+)"/.exec(forbidden.headers.get('www-authenticate')!)![1]!
    expect((await read()).scopes_supported).toContain(asked)
    // A standalone requireScopes() learns its verifier from the first verified token.
    const admin = await fetch(`${base}/api/admin`, bearer(token))
    expect(admin.status).toBe(403)
    expect(admin.headers.get('www-authenticate')).toContain(`resource_metadata="${METADATA_URL}"`)
    expect((await read()).scopes_supported).toContain('admin')
    const head = await fetch(`${base}/.well-known/oauth-protected-resource`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404)
  })
})
