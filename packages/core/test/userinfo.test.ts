import { describe, expect, it } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import { fetchUserInfo } from '../src/userinfo.js'

const ISSUER = 'https://as.example.com'

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}

async function makeClient(
  answer: () => Response | Promise<Response>,
  metadata: Record<string, unknown> = { userinfo_endpoint: `${ISSUER}/me` },
): Promise<{ client: Client; seen: { url: string; headers: Headers }[] }> {
  const seen: { url: string; headers: Headers }[] = []
  const client = await createClient({
    issuer: ISSUER,
    clientId: 'web-1',
    clientSecret: 's3cret',
    redirectUri: 'https://app.example.com/callback',
    metadata: {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      ...metadata,
    },
    fetch: async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      seen.push({ url, headers: new Headers(init?.headers) })
      return answer()
    },
  })
  return { client, seen }
}

async function failure(promise: Promise<unknown>): Promise<CodegrantError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CodegrantError)
  return err as CodegrantError
}

describe('fetchUserInfo', () => {
  it('returns the claims as plain JSON, sending the access token as a Bearer token', async () => {
    const { client, seen } = await makeClient(() =>
      json({ sub: 'user-1', email: 'a@example.com', email_verified: true }),
    )
    const claims = await fetchUserInfo(client, 'at-1', 'user-1')
    expect(claims).toEqual({ sub: 'user-1', email: 'a@example.com', email_verified: true })
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype)
    expect(seen[0]?.url).toBe(`${ISSUER}/me`)
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer at-1')
  })

  it('fails with ERR_USERINFO_SUB_MISMATCH when sub differs from the expected one', async () => {
    const { client } = await makeClient(() => json({ sub: 'someone-else', email: 'x@example.com' }))
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_USERINFO_SUB_MISMATCH')
    expect(err.message).not.toContain('someone-else')
  })

  it('fails with ERR_RESPONSE_INVALID when sub is missing', async () => {
    const { client } = await makeClient(() => json({ email: 'x@example.com' }))
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
  })

  it('maps a Bearer challenge (401 invalid_token) with error and status', async () => {
    const { client } = await makeClient(() =>
      json({}, 401, { 'www-authenticate': 'Bearer error="invalid_token"' }),
    )
    const err = await failure(fetchUserInfo(client, 'expired-at', 'user-1'))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('invalid_token')
    expect(err.status).toBe(401)
    expect(err.message).not.toContain('expired-at')
  })

  it('fails with ERR_UNSUPPORTED without a userinfo_endpoint', async () => {
    const { client, seen } = await makeClient(() => json({ sub: 'user-1' }), {})
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_UNSUPPORTED')
    expect(seen).toHaveLength(0)
  })

  it('refuses misuse with a TypeError naming the argument', async () => {
    const { client } = await makeClient(() => json({ sub: 'user-1' }))
    await expect(fetchUserInfo(client, '', 'user-1')).rejects.toThrow('"accessToken"')
    await expect(fetchUserInfo(client, 'at', '')).rejects.toThrow('"expectedSub"')
  })
})
