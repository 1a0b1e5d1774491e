import { describe, expect, it } from 'vitest'
import { CodegrantError } from '../src/errors.js'
import { introspectToken } from '../src/introspect.js'
import { createRecordingClient } from './helpers/clients.js'
import { ISSUER, json } from './helpers/fake-as.js'

async function makeClient(
  answer: () => Response | Promise<Response>,
  metadata: Record<string, unknown> = { introspection_endpoint: `${ISSUER}/introspect` },
) {
  const { client, seen } = await createRecordingClient(answer, {
    metadata,
    client: { clientId: 'rs-1', clientAuthMethod: 'client_secret_post' },
    record: (req) => new URLSearchParams(req.body),
  })
  return { client, bodies: seen }
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
    expect((err as CodegrantError).code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect((err as CodegrantError).error).toBe('invalid_client')

    const { client: broken } = await makeClient(() => json({ active: 'yes' }))
    const bad = await introspectToken(broken, 'at-1').catch((e: unknown) => e)
    expect((bad as CodegrantError).code).toBe('ERR_RESPONSE_INVALID')
  })
})
