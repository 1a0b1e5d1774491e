import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as openid from 'openid-client'
import { createClient, getConfiguration } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import { refreshTokens } from '../src/refresh.js'
import { createFakeAs, ISSUER, json } from './helpers/fake-as.js'

const base = { clientId: 'client-1', redirectUri: 'https://app.example.com/callback' }

describe('createClient', () => {
  it('discovers metadata through the injected fetch and exposes a frozen client', async () => {
    const as = await createFakeAs()
    const client = await createClient({
      ...base,
      issuer: ISSUER,
      clientSecret: 's3cret',
      fetch: as.fetch,
    })
    expect(client.issuer).toBe(ISSUER)
    expect(client.metadata.token_endpoint).toBe(`${ISSUER}/token`)
    expect(Object.isFrozen(client)).toBe(true)
    expect(Object.isFrozen(client.metadata)).toBe(true)
    expect(as.requests[0]?.url).toBe(`${ISSUER}/.well-known/openid-configuration`)
    const config = getConfiguration(client)
    expect(config).toBeInstanceOf(openid.Configuration)
    expect(config.clientMetadata().id_token_signed_response_alg).toBe('RS256')
  })

  it('discovers an issuer with a path (Cloudentity shape) at <issuer>/.well-known/openid-configuration', async () => {
    const issuer = 'https://acme.us.authz.cloudentity.io/acme/demo'
    const seen: string[] = []
    const fetch: typeof globalThis.fetch = async (input) => {
      seen.push(String(input))
      return json({
        issuer,
        authorization_endpoint: `${issuer}/oauth2/authorize`,
        token_endpoint: `${issuer}/oauth2/token`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
      })
    }
    const client = await createClient({ ...base, issuer, fetch })
    expect(seen).toEqual([`${issuer}/.well-known/openid-configuration`])
    expect(client.issuer).toBe(issuer)
  })

  it('uses explicit metadata without any request', async () => {
    const as = await createFakeAs()
    const client = await createClient({
      ...base,
      issuer: ISSUER,
      metadata: as.metadata,
      fetch: as.fetch,
    })
    expect(client.metadata.issuer).toBe(ISSUER)
    expect(as.requests).toHaveLength(0)
  })

  it('refuses metadata whose issuer differs (ERR_METADATA_INVALID)', async () => {
    const as = await createFakeAs({ metadata: { issuer: 'https://evil.example.com' } })
    await expect(
      createClient({ ...base, issuer: ISSUER, metadata: as.metadata }),
    ).rejects.toMatchObject({ code: 'ERR_METADATA_INVALID' })
    await expect(createClient({ ...base, issuer: ISSUER, fetch: as.fetch })).rejects.toMatchObject({
      code: 'ERR_METADATA_INVALID',
    })
  })

  it('refuses an http endpoint in the metadata of an https issuer', async () => {
    const as = await createFakeAs({ metadata: { token_endpoint: 'http://as.example.com/token' } })
    await expect(
      createClient({ ...base, issuer: ISSUER, metadata: as.metadata }),
    ).rejects.toMatchObject({
      code: 'ERR_METADATA_INVALID',
    })
  })

  it('refuses an http issuer on a non-loopback host with a TypeError', async () => {
    await expect(createClient({ ...base, issuer: 'http://as.example.com' })).rejects.toThrow(
      new TypeError('"issuer" must be an https: URL (http: is allowed only for loopback hosts)'),
    )
  })

  it('accepts an http issuer on a loopback host', async () => {
    const as = await createFakeAs({
      metadata: {
        issuer: 'http://127.0.0.1:9999',
        authorization_endpoint: 'http://127.0.0.1:9999/authorize',
        token_endpoint: 'http://127.0.0.1:9999/token',
        jwks_uri: 'http://127.0.0.1:9999/jwks',
      },
    })
    const client = await createClient({
      ...base,
      issuer: 'http://127.0.0.1:9999',
      metadata: as.metadata,
    })
    expect(client.issuer).toBe('http://127.0.0.1:9999')
  })

  it('validates options with TypeErrors naming the option', async () => {
    await expect(createClient({ ...base, issuer: ISSUER, clientId: '' })).rejects.toThrow(
      '"clientId"',
    )
    await expect(
      createClient({ ...base, issuer: ISSUER, clientAuthMethod: 'client_secret_post' }),
    ).rejects.toThrow('"clientSecret" is required')
    await expect(
      createClient({ ...base, issuer: ISSUER, redirectUri: 'https://a.example/cb#x' }),
    ).rejects.toThrow('"redirectUri"')
    await expect(createClient({ ...base, issuer: ISSUER, timeout: -1 })).rejects.toThrow(
      '"timeout"',
    )
    await expect(
      createClient({ ...base, issuer: ISSUER, idTokenSignedResponseAlg: 'HS256' }),
    ).rejects.toThrow('"idTokenSignedResponseAlg"')
  })

  it('fails discovery with ERR_DISCOVERY_FAILED on a 500', async () => {
    const fetch: typeof globalThis.fetch = async () => json({}, 500)
    const err = await createClient({ ...base, issuer: ISSUER, fetch }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CodegrantError)
    expect(err).toMatchObject({ code: 'ERR_DISCOVERY_FAILED' })
  })
})

describe('request timeout', () => {
  const servers: ReturnType<typeof createServer>[] = []
  afterEach(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    servers.length = 0
  })

  it('bounds discovery against a server that never answers (ERR_TIMEOUT inside)', async () => {
    const server = createServer(() => {
      /* never answers */
    })
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const started = Date.now()
    const err = await createClient({
      ...base,
      issuer: `http://127.0.0.1:${port}`,
      timeout: 200,
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_DISCOVERY_FAILED' })
    expect((err as CodegrantError).cause).toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(10_000)
    server.closeAllConnections()
  })

  it('bounds a token request to a server that never answers (ERR_TIMEOUT)', async () => {
    const server = createServer(() => {
      /* never answers */
    })
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const issuer = `http://127.0.0.1:${port}`
    const client = await createClient({
      ...base,
      issuer,
      clientSecret: 'secret',
      timeout: 300,
      metadata: {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
      },
    })
    const err = await refreshTokens(client, 'rt').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_TIMEOUT' })
    server.closeAllConnections()
  })

  it('fails a token request with ERR_NETWORK on connection refused', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    await new Promise((r) => server.close(r))
    const issuer = `http://127.0.0.1:${port}`
    const client = await createClient({
      ...base,
      issuer,
      metadata: {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
      },
    })
    await expect(refreshTokens(client, 'rt')).rejects.toMatchObject({ code: 'ERR_NETWORK' })
  })

  it('fails with ERR_NETWORK inside on connection refused', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    await new Promise((r) => server.close(r))
    const err = await createClient({ ...base, issuer: `http://127.0.0.1:${port}` }).catch(
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'ERR_DISCOVERY_FAILED' })
    expect((err as CodegrantError).cause).toMatchObject({ code: 'ERR_NETWORK' })
  })
})
