// examples/api as a user runs it: `node examples/api/dist/index.js` with env, driven over HTTP
// against the local oidc-provider AS, following the contract in /shared/CONTRACT.md.
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  defaultAudience,
  localClients,
  opaqueAudience,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { getAccessToken, getTokens } from './resource-server-helpers.js'
import { runToExit, spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { freePort } from './support/ports.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const entry = fileURLToPath(new URL('../examples/api/dist/index.js', import.meta.url))
const source = fileURLToPath(new URL('../examples/api/src/index.ts', import.meta.url))

let as: LocalAs
const children: Child[] = []

beforeAll(async () => {
  // `pnpm test` builds first (tsc -b); build here too when the output is missing or stale.
  if (!existsSync(entry) || statSync(entry).mtimeMs < statSync(source).mtimeMs)
    execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'ignore' })
  as = await startLocalAs()
})
afterAll(async () => {
  await as.close()
})
afterEach(async () => {
  await Promise.all(children.splice(0).map(stopChild))
})

interface Started {
  url: string
  child: Child
}

/** Starts the example; resolves with its URL once it prints its `listening` line. */
async function start(env: Record<string, string | undefined>): Promise<Started> {
  const child = spawnNode(entry, { PATH: process.env.PATH, PORT: '0', ...env })
  children.push(child)
  const match = await waitForOutput(child, /listening.*?(https?:\/\/\S+)/)
  return { url: match[1]!.replace('localhost', '127.0.0.1'), child }
}

/** Runs the example expecting it to stop at start; returns its exit code and output. */
function startFailing(env: Record<string, string | undefined>) {
  return runToExit(entry, { PATH: process.env.PATH, PORT: '0', ...env })
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** The default BASE_URL for the URL a test reaches the app at (`http://localhost:$PORT`). */
const localhostUrl = (url: string) => url.replace('127.0.0.1', 'localhost')

/**
 * RFC 9728 section 2: `resource` is required; the other members, when present, have their types
 * (string arrays, booleans, strings); no fragment in `resource`.
 */
function checkRfc9728Document(doc: Record<string, unknown>): void {
  expect(typeof doc.resource).toBe('string')
  expect(doc.resource as string).not.toContain('#')
  for (const name of [
    'authorization_servers',
    'scopes_supported',
    'bearer_methods_supported',
    'resource_signing_alg_values_supported',
    'dpop_signing_alg_values_supported',
  ])
    if (doc[name] !== undefined) {
      expect(Array.isArray(doc[name])).toBe(true)
      for (const item of doc[name] as unknown[]) expect(typeof item).toBe('string')
    }
  for (const method of (doc.bearer_methods_supported as string[] | undefined) ?? [])
    expect(['header', 'body', 'query']).toContain(method)
  for (const name of [
    'tls_client_certificate_bound_access_tokens',
    'dpop_bound_access_tokens_required',
  ])
    if (doc[name] !== undefined) expect(typeof doc[name]).toBe('boolean')
}

describe('examples/api', () => {
  it('serves the contract routes', async () => {
    const { url } = await start({ ISSUER_URL: as.issuer, AUDIENCE: defaultAudience })

    const pub = await fetch(`${url}/api/public`)
    expect(pub.status).toBe(200)

    const metadataParam = `resource_metadata="${localhostUrl(url)}/.well-known/oauth-protected-resource"`
    const none = await fetch(`${url}/api/private`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe(`Bearer realm="api", ${metadataParam}`)

    const bad = await fetch(`${url}/api/private`, bearer('not-a-valid-token'))
    expect(bad.status).toBe(401)
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    expect(bad.headers.get('www-authenticate')).toContain(metadataParam)

    const token = await getAccessToken(as, {
      resource: defaultAudience,
      scope: 'openid read:messages',
    })
    const priv = await fetch(`${url}/api/private`, bearer(token))
    expect(priv.status).toBe(200)
    const body = (await priv.json()) as Record<string, unknown>
    expect(body).toMatchObject({ sub: 'demo-user-1', scope: 'read:messages' })
    expect(JSON.stringify(body)).not.toContain(token)

    const messages = await fetch(`${url}/api/messages`, bearer(token))
    expect(messages.status).toBe(200)

    const noScope = await getAccessToken(as, {
      resource: defaultAudience,
      scope: 'openid write:messages',
    })
    const forbidden = await fetch(`${url}/api/messages`, bearer(noScope))
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="read:messages", ${metadataParam}`,
    )
  })

  it('serves RFC 9728 protected resource metadata, named by every challenge', async () => {
    const { url } = await start({ ISSUER_URL: as.issuer, AUDIENCE: defaultAudience })
    // A client starts from the challenge, as RFC 9728 section 5 says.
    const challenge = (await fetch(`${url}/api/messages`)).headers.get('www-authenticate') ?? ''
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1]
    expect(metadataUrl).toBe(`${localhostUrl(url)}/.well-known/oauth-protected-resource`)
    const res = await fetch(`${url}/.well-known/oauth-protected-resource`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const doc = (await res.json()) as Record<string, unknown>
    checkRfc9728Document(doc)
    expect(doc.resource).toBe(defaultAudience)
    expect(doc.authorization_servers).toEqual([as.issuer])
    expect(doc.scopes_supported).toContain('read:messages')
    expect(doc.bearer_methods_supported).toEqual(['header'])
    // The scope a 403 asks for is one the metadata lists.
    const noScope = await getAccessToken(as, {
      resource: defaultAudience,
      scope: 'openid write:messages',
    })
    const forbidden = await fetch(`${url}/api/messages`, bearer(noScope))
    const asked = /scope="([^"]+)"/.exec(forbidden.headers.get('www-authenticate') ?? '')?.[1]
    for (const scope of asked!.split(' ')) expect(doc.scopes_supported).toContain(scope)
  })

  it('names BASE_URL in resource_metadata', async () => {
    const { url } = await start({
      ISSUER_URL: as.issuer,
      AUDIENCE: defaultAudience,
      BASE_URL: 'https://api.example.com/',
    })
    const res = await fetch(`${url}/api/private`)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"',
    )
    expect((await fetch(`${url}/.well-known/oauth-protected-resource`)).status).toBe(200)
  })

  it('refuses a token issued for another resource (audience binding)', async () => {
    const { url } = await start({ ISSUER_URL: as.issuer, AUDIENCE: defaultAudience })
    const other = await getAccessToken(as, { resource: opaqueAudience })
    const res = await fetch(`${url}/api/private`, bearer(other))
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    // An ID token is not an access token either (its aud is the client).
    const tokens = await getTokens(as, { resource: defaultAudience })
    const idToken = await fetch(`${url}/api/private`, bearer(tokens.id_token as string))
    expect(idToken.status).toBe(401)
  })

  it('accepts ISSUER_URL with a trailing slash (compared as a URL, as core does)', async () => {
    const { url } = await start({ ISSUER_URL: `${as.issuer}/`, AUDIENCE: defaultAudience })
    const token = await getAccessToken(as, { resource: defaultAudience })
    expect((await fetch(`${url}/api/private`, bearer(token))).status).toBe(200)
  })

  it('stops at start naming ISSUER_URL with the expected and the found issuer', async () => {
    // localhost is not 127.0.0.1: the discovery document names another issuer.
    const issuer = as.issuer.replace('127.0.0.1', 'localhost')
    const result = await startFailing({ ISSUER_URL: issuer, AUDIENCE: defaultAudience })
    expect(result.code).not.toBe(0)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('ISSUER_URL')
    expect(lines[0]).toContain(JSON.stringify(issuer))
    expect(lines[0]).toContain(JSON.stringify(as.issuer))
    expect(result.stdout).not.toContain('listening')
  })

  it('validates opaque tokens by introspection when INTROSPECTION_CLIENT_ID/SECRET are set', async () => {
    const { url } = await start({
      ISSUER_URL: as.issuer,
      AUDIENCE: opaqueAudience,
      INTROSPECTION_CLIENT_ID: localClients.apiIntrospector.clientId,
      INTROSPECTION_CLIENT_SECRET: localClients.apiIntrospector.clientSecret,
    })
    const token = await getAccessToken(as, { resource: opaqueAudience })
    const res = await fetch(`${url}/api/private`, bearer(token))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ sub: 'demo-user-1', scope: 'read:messages' })
    expect((await fetch(`${url}/api/messages`, bearer(token))).status).toBe(200)
  })

  it('stops at start with one line naming a missing AUDIENCE', async () => {
    const result = await startFailing({ ISSUER_URL: as.issuer })
    expect(result.code).not.toBe(0)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('AUDIENCE')
    expect(result.stdout).not.toContain('listening')
  })

  it('stops at start with one line naming a non-loopback http ISSUER_URL', async () => {
    const result = await startFailing({
      ISSUER_URL: 'http://as.example.com',
      AUDIENCE: defaultAudience,
    })
    expect(result.code).not.toBe(0)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('ISSUER_URL')
  })

  it('stops at start with one line naming a missing ISSUER_URL or a bad PORT', async () => {
    const missing = await startFailing({ AUDIENCE: defaultAudience })
    expect(missing.code).not.toBe(0)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toContain('ISSUER_URL')
    const port = await startFailing({
      PORT: 'eighty',
      ISSUER_URL: as.issuer,
      AUDIENCE: defaultAudience,
    })
    expect(port.code).not.toBe(0)
    expect(port.stderr).toContain('PORT')
  })

  it('starts while the AS is down, answers 503, and recovers when it comes up', async () => {
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    const { url, child } = await start({ ISSUER_URL: issuer, AUDIENCE: defaultAudience })
    const early = await fetch(`${url}/api/private`, bearer('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'))
    expect(early.status).toBe(503)
    const later = await startLocalAs({ port })
    try {
      const token = await getAccessToken(later, { resource: defaultAudience })
      let status = 0
      for (let i = 0; i < 40 && status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        status = (await fetch(`${url}/api/private`, bearer(token))).status
      }
      expect(status).toBe(200)
      expect(child.exitCode).toBeNull()
    } finally {
      await later.close()
    }
  })
})
