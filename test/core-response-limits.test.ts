/**
 * Regression (issue 13.2): core bounds every response body it reads from the AS (discovery,
 * JWKS, token, userinfo, introspection, revocation, PAR) by `maxResponseSize`, and `timeout`
 * covers the whole read. A loopback HTTP server sends a 300 MB body (fast, with and without
 * Content-Length) or drips one byte at a time; each must fail fast with a typed error, having
 * read only about the limit.
 */
import {
  createAuthorizationRequest,
  createClient,
  fetchUserInfo,
  introspectToken,
  refreshTokens,
  revokeToken,
  type Client,
  type CodegrantError,
} from '@codegrant/core'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

type Mode = 'normal' | 'huge' | 'huge-length' | 'drip'
const HUGE = 300 * 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 0x20) // JSON whitespace: a valid prefix of a document
const LIMIT = 64 * 1024
const TIMEOUT = 800

let server: Server
let issuer: string
/** What each path answers with; everything is `normal` unless a test says otherwise. */
const modes = new Map<string, Mode>()
/** Bytes the server managed to hand to the socket per path, before the client went away. */
const sent = new Map<string, number>()

function metadata() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
  }
}

function normal(path: string): { status: number; body: unknown } {
  switch (path) {
    case '/.well-known/openid-configuration':
      return { status: 200, body: metadata() }
    case '/jwks':
      return { status: 200, body: { keys: [] } }
    case '/userinfo':
      return { status: 200, body: { sub: 'user-1' } }
    case '/introspect':
      return { status: 200, body: { active: false } }
    case '/par':
      return { status: 201, body: { request_uri: 'urn:x', expires_in: 60 } }
    default:
      return { status: 200, body: { access_token: 'at', token_type: 'Bearer', expires_in: 60 } }
  }
}

/** Writes `total` bytes as fast as the socket takes them, stopping when the client goes away. */
function stream(req: IncomingMessage, res: ServerResponse, path: string, total: number) {
  let written = 0
  let closed = false
  res.on('close', () => (closed = true))
  const pump = () => {
    while (!closed && written < total) {
      written += CHUNK.length
      sent.set(path, written)
      if (!res.write(CHUNK)) {
        res.once('drain', pump)
        return
      }
    }
    if (!closed) res.end()
  }
  pump()
}

function handle(req: IncomingMessage, res: ServerResponse) {
  req.resume()
  const path = new URL(req.url ?? '/', issuer).pathname
  const mode = modes.get(path) ?? 'normal'
  const { status, body } = normal(path)
  if (mode === 'normal') {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
    return
  }
  if (mode === 'drip') {
    res.writeHead(status, { 'content-type': 'application/json' })
    const timer = setInterval(() => res.write(' '), 50)
    res.on('close', () => clearInterval(timer))
    return
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    ...(mode === 'huge-length' && { 'content-length': String(HUGE) }),
  })
  stream(req, res, path, HUGE)
}

beforeAll(async () => {
  server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

beforeEach(() => {
  modes.clear()
  sent.clear()
})

function newClient(extra: { metadata?: boolean } = {}): Promise<Client> {
  return createClient({
    issuer,
    clientId: 'client-1',
    clientSecret: 'secret',
    redirectUri: 'http://127.0.0.1/callback',
    timeout: TIMEOUT,
    maxResponseSize: LIMIT,
    ...(extra.metadata === true && { metadata: metadata() }),
  })
}

async function timed<T>(promise: Promise<T>): Promise<{ err: CodegrantError; ms: number }> {
  const started = performance.now()
  const err = await promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: unknown) => e as CodegrantError,
  )
  return { err, ms: performance.now() - started }
}

/** The innermost CodegrantError code (discovery wraps the transport error as its cause). */
function rootCode(err: CodegrantError): string {
  let current: unknown = err
  let code = err.code
  while (current instanceof Error) {
    const c = (current as Partial<CodegrantError>).code
    if (typeof c === 'string' && c.startsWith('ERR_')) code = c as CodegrantError['code']
    current = current.cause
  }
  return code
}

describe('bounded response bodies (issue 13.2)', () => {
  it('a 300 MB discovery document fails fast as too large, read only to about the limit', async () => {
    modes.set('/.well-known/openid-configuration', 'huge')
    const { err, ms } = await timed(newClient())
    expect(err.code).toBe('ERR_DISCOVERY_FAILED')
    expect(rootCode(err)).toBe('ERR_RESPONSE_TOO_LARGE')
    expect(err.message).toContain('"maxResponseSize"')
    expect(err.message).toContain(`GET ${issuer}/.well-known/openid-configuration`)
    expect(ms).toBeLessThan(TIMEOUT)
    // What left the server before the client hung up: the limit plus socket buffers, not 300 MB.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(sent.get('/.well-known/openid-configuration') ?? 0).toBeLessThan(32 * 1024 * 1024)
  })

  it('a declared Content-Length over the limit fails before reading the body', async () => {
    modes.set('/.well-known/openid-configuration', 'huge-length')
    const { err, ms } = await timed(newClient())
    expect(rootCode(err)).toBe('ERR_RESPONSE_TOO_LARGE')
    expect(ms).toBeLessThan(TIMEOUT)
  })

  it('a discovery document that drips forever fails at the timeout, which covers the body', async () => {
    modes.set('/.well-known/openid-configuration', 'drip')
    const { err, ms } = await timed(newClient())
    expect(err.code).toBe('ERR_DISCOVERY_FAILED')
    expect(rootCode(err)).toBe('ERR_TIMEOUT')
    expect(err.message).toContain('("timeout")')
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 50)
    expect(ms).toBeLessThan(TIMEOUT + 1500)
  })

  it.each([['huge'], ['drip']] as const)('token endpoint (%s)', async (mode) => {
    const client = await newClient()
    modes.set('/token', mode)
    const { err, ms } = await timed(refreshTokens(client, 'rt'))
    expect(err.code).toBe(mode === 'huge' ? 'ERR_RESPONSE_TOO_LARGE' : 'ERR_TIMEOUT')
    expect(ms).toBeLessThan(TIMEOUT + 1500)
  })

  it('JWKS (while verifying an ID token)', async () => {
    modes.set('/jwks', 'huge')
    // Any ID token will do: the keys are fetched before the signature is checked. The token
    // answer carries one signed by nobody.
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k' })).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const payload = Buffer.from(
      JSON.stringify({ iss: issuer, aud: 'client-1', sub: 'u', iat: now, exp: now + 60 }),
    ).toString('base64url')
    const idToken = `${header}.${payload}.c2ln`
    const tokenFetch = createClient({
      issuer,
      clientId: 'client-1',
      clientSecret: 'secret',
      redirectUri: 'http://127.0.0.1/callback',
      timeout: TIMEOUT,
      maxResponseSize: LIMIT,
      metadata: metadata(),
      fetch: async (input, init) => {
        if (String(input).endsWith('/token')) {
          return Response.json({ access_token: 'at', token_type: 'Bearer', id_token: idToken })
        }
        return fetch(input, init)
      },
    })
    const { err } = await timed(refreshTokens(await tokenFetch, 'rt'))
    expect(err.code).toBe('ERR_RESPONSE_TOO_LARGE')
  })

  it('userinfo, introspection, revocation and PAR', async () => {
    const client = await newClient({ metadata: true })
    for (const path of ['/userinfo', '/introspect', '/revoke', '/par']) modes.set(path, 'huge')
    const calls: [string, () => Promise<unknown>][] = [
      ['userinfo', () => fetchUserInfo(client, 'at', 'user-1')],
      ['introspection', () => introspectToken(client, 'at')],
      ['par', () => createAuthorizationRequest(client, { usePar: true })],
    ]
    for (const [name, call] of calls) {
      const { err } = await timed(call())
      expect([name, err.code]).toEqual([name, 'ERR_RESPONSE_TOO_LARGE'])
    }
    // A revocation's 200 body is never read (RFC 7009 defines none): it succeeds, unread, and
    // the deadline then closes the connection.
    await expect(revokeToken(client, 'rt')).resolves.toBeUndefined()
  })

  it('refuses a bad "maxResponseSize"', async () => {
    await expect(
      createClient({
        issuer,
        clientId: 'c',
        redirectUri: 'http://127.0.0.1/callback',
        maxResponseSize: 0,
      }),
    ).rejects.toThrow('"maxResponseSize" must be a number > 0')
  })
})
