/**
 * tls_client_auth / self_signed_tls_client_auth (RFC 8705): the client certificate travels
 * through an injected fetch (undici Agent with `connect: { cert, key }`). A local HTTPS server
 * plays the token, revocation and introspection endpoints and requires the certificate.
 *
 * Node cannot issue X.509 certificates, so the test uses small self-signed test-only fixtures
 * (generated once with openssl, see fixtures/mtls/README.md): no tool is needed at test time.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import type { ClientAuthMethod } from '../src/options.js'
import { CodegrantError } from '../src/errors.js'
import { introspectToken } from '../src/introspect.js'
import { refreshTokens } from '../src/refresh.js'
import { revokeToken } from '../src/revoke.js'

interface Pem {
  key: string
  cert: string
  fingerprint256: string
}

function fixture(name: string): Pem {
  const read = (ext: string) =>
    readFileSync(new URL(`./fixtures/mtls/${name}.${ext}`, import.meta.url), 'utf8')
  const pem = { key: read('key'), cert: read('crt') }
  return { ...pem, fingerprint256: new X509Certificate(pem.cert).fingerprint256 }
}

interface Seen {
  path: string
  body: URLSearchParams
  authorization: string | undefined
  /** SHA-256 fingerprint of the client certificate presented, if any. */
  peer: string | undefined
}

let serverPem: Pem
let clientPem: Pem
let server: Server
let base: string
const seen: Seen[] = []
const agents: Agent[] = []

beforeAll(async () => {
  serverPem = fixture('server')
  clientPem = fixture('client')
  server = createServer(
    { key: serverPem.key, cert: serverPem.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const peerCert = (req.socket as TLSSocket).getPeerCertificate()
        const peer = peerCert && peerCert.raw ? peerCert.fingerprint256 : undefined
        const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
        const path = new URL(req.url ?? '/', base).pathname
        seen.push({ path, body, authorization: req.headers.authorization, peer })
        const send = (status: number, payload?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          res.end(payload === undefined ? '' : JSON.stringify(payload))
        }
        // The AS authenticates the client by the certificate it registered (its fingerprint).
        if (peer !== clientPem.fingerprint256 || body.get('client_id') !== 'mtls-client') {
          send(401, { error: 'invalid_client', error_description: 'client certificate required' })
          return
        }
        if (path === '/token' && body.get('grant_type') === 'refresh_token') {
          send(200, { access_token: 'at-2', token_type: 'Bearer', expires_in: 300 })
        } else if (path === '/introspect') send(200, { active: true, client_id: 'mtls-client' })
        else if (path === '/revoke') send(200)
        else send(404, { error: 'not_found' })
      })
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()))
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** A fetch over an undici Agent that trusts the test server and may present a certificate. */
function mtlsFetch(withCertificate: boolean): typeof fetch {
  const agent = new Agent({
    connect: {
      ca: serverPem.cert,
      ...(withCertificate && { cert: clientPem.cert, key: clientPem.key }),
    },
  })
  agents.push(agent)
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as never
}

function makeClient(method: ClientAuthMethod, fetchImpl: typeof fetch): Promise<Client> {
  return createClient({
    issuer: base,
    clientId: 'mtls-client',
    clientAuthMethod: method,
    redirectUri: 'https://app.example.com/callback',
    metadata: {
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      introspection_endpoint: `${base}/introspect`,
      revocation_endpoint: `${base}/revoke`,
      token_endpoint_auth_methods_supported: ['tls_client_auth', 'self_signed_tls_client_auth'],
    },
    fetch: fetchImpl,
  })
}

describe.each(['tls_client_auth', 'self_signed_tls_client_auth'] as const)('%s', (method) => {
  it('presents the certificate and sends client_id in the body, no secret', async () => {
    seen.length = 0
    const client = await makeClient(method, mtlsFetch(true))
    const { tokens } = await refreshTokens(client, 'rt-1')
    expect(tokens).toMatchObject({ access_token: 'at-2', token_type: 'Bearer' })
    await expect(introspectToken(client, 'at-1')).resolves.toEqual({
      active: true,
      client_id: 'mtls-client',
    })
    await expect(revokeToken(client, 'rt-1', 'refresh_token')).resolves.toBeUndefined()
    expect(seen.map((s) => s.path)).toEqual(['/token', '/introspect', '/revoke'])
    for (const request of seen) {
      expect(request.peer).toBe(clientPem.fingerprint256)
      expect(request.body.get('client_id')).toBe('mtls-client')
      expect(request.body.has('client_secret')).toBe(false)
      expect(request.body.has('client_assertion')).toBe(false)
      expect(request.authorization).toBeUndefined()
    }
  })

  it('without the certificate the AS refuses and the error is typed', async () => {
    seen.length = 0
    const client = await makeClient(method, mtlsFetch(false))
    for (const attempt of [
      () => refreshTokens(client, 'rt-1'),
      () => introspectToken(client, 'at-1'),
    ]) {
      const err = await attempt().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CodegrantError)
      expect((err as CodegrantError).code).toBe('ERR_CLIENT_AUTH_REFUSED')
      expect((err as CodegrantError).error).toBe('invalid_client')
      expect((err as CodegrantError).message).toContain('client certificate')
      expect((err as CodegrantError).status).toBe(401)
    }
    expect(seen.map((s) => s.path)).toEqual(['/token', '/introspect'])
    expect(seen.every((s) => s.peer === undefined)).toBe(true)
  })
})

describe('mtls_endpoint_aliases', () => {
  it('sends mTLS requests to the aliases (RFC 8705 section 5)', async () => {
    seen.length = 0
    const client = await createClient({
      issuer: base,
      clientId: 'mtls-client',
      clientAuthMethod: 'tls_client_auth',
      redirectUri: 'https://app.example.com/callback',
      metadata: {
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        // The plain endpoint is unreachable; only the alias answers.
        introspection_endpoint: 'https://127.0.0.1:1/introspect',
        mtls_endpoint_aliases: { introspection_endpoint: `${base}/introspect` },
      },
      fetch: mtlsFetch(true),
    })
    await expect(introspectToken(client, 'at-1')).resolves.toMatchObject({ active: true })
    expect(seen[0]?.peer).toBe(clientPem.fingerprint256)
  })
})

describe('a server that refuses the TLS handshake without a trusted certificate', () => {
  it('succeeds with the certificate and fails with ERR_NETWORK without it', async () => {
    const strict = createServer(
      {
        key: serverPem.key,
        cert: serverPem.cert,
        requestCert: true,
        rejectUnauthorized: true,
        ca: clientPem.cert,
      },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ active: true }))
      },
    )
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve))
    const origin = `https://127.0.0.1:${(strict.address() as AddressInfo).port}`
    try {
      const clientFor = (withCertificate: boolean) =>
        createClient({
          issuer: origin,
          clientId: 'mtls-client',
          clientAuthMethod: 'self_signed_tls_client_auth',
          redirectUri: 'https://app.example.com/callback',
          metadata: {
            issuer: origin,
            authorization_endpoint: `${origin}/authorize`,
            token_endpoint: `${origin}/token`,
            introspection_endpoint: `${origin}/introspect`,
          },
          fetch: mtlsFetch(withCertificate),
        })
      await expect(introspectToken(await clientFor(true), 'at-1')).resolves.toEqual({
        active: true,
      })
      const err = await introspectToken(await clientFor(false), 'at-1').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CodegrantError)
      expect((err as CodegrantError).code).toBe('ERR_NETWORK')
    } finally {
      strict.closeAllConnections()
      await new Promise<void>((resolve) => strict.close(() => resolve()))
    }
  })
})
