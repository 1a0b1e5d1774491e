import { describe, expect, it } from 'vitest'
import { revokeToken } from '../src/revoke.js'
import { createRecordingClient, failure } from './helpers/clients.js'
import { ISSUER } from './helpers/fake-as.js'

function makeClient(
  answer: () => Response | Promise<Response>,
  metadata: Record<string, unknown> = { revocation_endpoint: `${ISSUER}/revoke` },
) {
  return createRecordingClient(answer, {
    metadata,
    record: (req) => ({ url: req.url, headers: req.headers, body: new URLSearchParams(req.body) }),
  })
}

describe('revokeToken', () => {
  it('posts the token and hint to the revocation endpoint, authenticated as the client', async () => {
    const { client, seen } = await makeClient(() => new Response(null, { status: 200 }))
    await expect(revokeToken(client, 'rt-1', 'refresh_token')).resolves.toBeUndefined()
    expect(seen).toHaveLength(1)
    expect(seen[0]?.url).toBe(`${ISSUER}/revoke`)
    expect(seen[0]?.body.get('token')).toBe('rt-1')
    expect(seen[0]?.body.get('token_type_hint')).toBe('refresh_token')
    expect(seen[0]?.headers.get('authorization')).toMatch(/^Basic /)
  })

  it('sends no hint when none is given', async () => {
    const { client, seen } = await makeClient(() => new Response(null, { status: 200 }))
    await revokeToken(client, 'at-1')
    expect(seen[0]?.body.has('token_type_hint')).toBe(false)
  })

  it('fails with ERR_UNSUPPORTED when the AS has no revocation_endpoint, without a request', async () => {
    const { client, seen } = await makeClient(() => new Response(null), {})
    const err = await failure(revokeToken(client, 'rt-1'))
    expect(err.code).toBe('ERR_UNSUPPORTED')
    expect(seen).toHaveLength(0)
  })

  it('maps an OAuth 4xx error answer, keeping error and status, without the token', async () => {
    const { client } = await makeClient(
      () =>
        new Response(JSON.stringify({ error: 'invalid_client', error_description: 'nope' }), {
          status: 401,
          headers: { 'content-type': 'application/json' },
        }),
    )
    const err = await failure(revokeToken(client, 'secret-token-value'))
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.error).toBe('invalid_client')
    expect(err.status).toBe(401)
    expect(err.message).not.toContain('secret-token-value')
  })

  it('maps unsupported_token_type (400)', async () => {
    const { client } = await makeClient(
      () =>
        new Response(JSON.stringify({ error: 'unsupported_token_type' }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
    )
    const err = await failure(revokeToken(client, 'at-1', 'access_token'))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('unsupported_token_type')
  })

  it('maps a 5xx answer to ERR_RESPONSE_INVALID with the status', async () => {
    const { client } = await makeClient(() => new Response('oops', { status: 503 }))
    const err = await failure(revokeToken(client, 'rt-1'))
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
    expect(err.status).toBe(503)
    expect(err.message).not.toContain('oops')
  })

  it('maps a network failure to ERR_NETWORK', async () => {
    const { client } = await makeClient(() => {
      throw new TypeError('fetch failed')
    })
    const err = await failure(revokeToken(client, 'rt-1'))
    expect(err.code).toBe('ERR_NETWORK')
  })

  it('refuses misuse with a TypeError naming the argument', async () => {
    const { client } = await makeClient(() => new Response(null))
    await expect(revokeToken(client, '')).rejects.toThrow('"token"')
    await expect(revokeToken(client, 'x', 'id_token' as never)).rejects.toThrow('"tokenTypeHint"')
  })
})
