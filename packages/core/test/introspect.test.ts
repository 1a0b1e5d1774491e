import { describe, expect, it } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import { introspectToken } from '../src/introspect.js'

const ISSUER = 'https://as.example.com'

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

async function makeClient(
  answer: () => Response | Promise<Response>,
  metadata: Record<string, unknown> = { introspection_endpoint: `${ISSUER}/introspect` },
): Promise<{ client: Client; bodies: URLSearchParams[] }> {
  const bodies: URLSearchParams[] = []
  const client = await createClient({
    issuer: ISSUER,
    clientId: 'rs-1',
    clientSecret: 's3cret',
    clientAuthMethod: 'client_secret_post',
    redirectUri: 'https://app.example.com/callback',
    metadata: {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      ...metadata,
    },
    fetch: async (_input, init) => {
      bodies.push(new URLSearchParams(String(init?.body ?? '')))
      return answer()
    },
  })
  return { client, bodies }
}

describe('introspectToken', () => {
  it('returns the response as plain JSON and sends token, hint and client authentication', async () => {
    const { client, bodies } = await makeClient(() =>
      json({ active: true, sub: 'user-1', scope: 'openid', cnf: { jkt: 'abc' }, exp: 2000000000 }),
    )
    const result = await introspectToken(client, 'at-1', 'access_token')
    expect(result).toEqual({
      active: true,
      sub: 'user-1',
      scope: 'openid',
      cnf: { jkt: 'abc' },
      exp: 2000000000,
    })
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
    expect(bodies[0]?.get('token')).toBe('at-1')
    expect(bodies[0]?.get('token_type_hint')).toBe('access_token')
    expect(bodies[0]?.get('client_id')).toBe('rs-1')
    expect(bodies[0]?.get('client_secret')).toBe('s3cret')
  })

  it('returns active false as is', async () => {
    const { client } = await makeClient(() => json({ active: false }))
    await expect(introspectToken(client, 'gone')).resolves.toEqual({ active: false })
  })

  it('fails with ERR_UNSUPPORTED without an introspection_endpoint', async () => {
    const { client, bodies } = await makeClient(() => json({ active: true }), {})
    const err = await introspectToken(client, 'at-1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CodegrantError)
    expect((err as CodegrantError).code).toBe('ERR_UNSUPPORTED')
    expect(bodies).toHaveLength(0)
  })

  it('maps an OAuth error answer and a malformed body', async () => {
    const { client: refused } = await makeClient(() => json({ error: 'invalid_client' }, 401))
    const err = await introspectToken(refused, 'at-1').catch((e: unknown) => e)
    expect((err as CodegrantError).code).toBe('ERR_TOKEN_ERROR')
    expect((err as CodegrantError).error).toBe('invalid_client')

    const { client: broken } = await makeClient(() => json({ active: 'yes' }))
    const bad = await introspectToken(broken, 'at-1').catch((e: unknown) => e)
    expect((bad as CodegrantError).code).toBe('ERR_RESPONSE_INVALID')
  })
})
