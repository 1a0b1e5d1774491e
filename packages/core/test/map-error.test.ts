import { describe, expect, it } from 'vitest'
import * as openid from 'openid-client'
import { createClient, getConfiguration } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import { toCodegrantError } from '../src/map-error.js'
import { createFakeAs, ISSUER, json } from './helpers/fake-as.js'

const SECRET = 'super-secret-value-123'
const REFRESH = 'refresh-token-value-456'

async function refreshWith(answer: () => Response | Promise<Response>) {
  const as = await createFakeAs()
  as.token = answer
  const client = await createClient({
    issuer: ISSUER,
    clientId: 'client-1',
    clientSecret: SECRET,
    redirectUri: 'https://app.example.com/callback',
    metadata: as.metadata,
    fetch: as.fetch,
    timeout: 300,
  })
  try {
    await openid.refreshTokenGrant(getConfiguration(client), REFRESH)
  } catch (err) {
    return toCodegrantError(err, 'refresh')
  }
  throw new Error('expected a failure')
}

function assertClean(err: CodegrantError) {
  expect(err.message).not.toContain(SECRET)
  expect(err.message).not.toContain(REFRESH)
  expect(err.message).not.toContain('raw body')
}

describe('toCodegrantError', () => {
  it('maps a 400 invalid_grant to ERR_INVALID_GRANT with the OAuth fields', async () => {
    const err = await refreshWith(() =>
      json({ error: 'invalid_grant', error_description: `grant ${REFRESH} revoked` }, 400),
    )
    expect(err.code).toBe('ERR_INVALID_GRANT')
    expect(err.error).toBe('invalid_grant')
    expect(err.status).toBe(400)
    expect(err.error_description).toContain('revoked')
    expect(err.cause).toBeDefined()
    assertClean(err)
  })

  it('maps a 401 invalid_client to ERR_CLIENT_AUTH_REFUSED, naming what to check', async () => {
    const err = await refreshWith(() => json({ error: 'invalid_client' }, 401))
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.error).toBe('invalid_client')
    expect(err.status).toBe(401)
    expect(err.message).toContain('refused the client authentication (invalid_client, HTTP 401)')
    expect(err.message).toContain('"clientSecret"')
    expect(err.message).not.toContain('answered unexpectedly')
    assertClean(err)
  })

  it('maps a 401 with a WWW-Authenticate challenge to ERR_CLIENT_AUTH_REFUSED', async () => {
    const err = await refreshWith(() =>
      json({ error: 'invalid_client' }, 401, {
        'www-authenticate': 'Basic error="invalid_client"',
      }),
    )
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.error).toBe('invalid_client')
  })

  it('keeps other 4xx OAuth errors as ERR_TOKEN_ERROR', async () => {
    const err = await refreshWith(() => json({ error: 'invalid_scope' }, 400))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('invalid_scope')
  })

  it('maps a 500 to ERR_RESPONSE_INVALID, with or without a JSON error body', async () => {
    const html = await refreshWith(
      () => new Response(`<h1>raw body ${SECRET}</h1>`, { status: 500 }),
    )
    expect(html.code).toBe('ERR_RESPONSE_INVALID')
    expect(html.status).toBe(500)
    assertClean(html)
    const jsonErr = await refreshWith(() => json({ error: 'server_error' }, 500))
    expect(jsonErr.code).toBe('ERR_RESPONSE_INVALID')
    expect(jsonErr.status).toBe(500)
  })

  it('maps a non-JSON 200 to ERR_RESPONSE_INVALID', async () => {
    const err = await refreshWith(
      () => new Response('raw body', { status: 200, headers: { 'content-type': 'text/html' } }),
    )
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
    assertClean(err)
    const broken = await refreshWith(
      () =>
        new Response('{raw body', { status: 200, headers: { 'content-type': 'application/json' } }),
    )
    expect(broken.code).toBe('ERR_RESPONSE_INVALID')
  })

  it('maps a token endpoint that never answers to ERR_TIMEOUT', async () => {
    const err = await refreshWith(() => new Promise<Response>(() => {}))
    expect(err.code).toBe('ERR_TIMEOUT')
  })

  it('maps a body that stalls after the headers to ERR_TIMEOUT', async () => {
    const err = await refreshWith(
      () =>
        new Response(new ReadableStream({ start() {} }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
    )
    expect(err.code).toBe('ERR_TIMEOUT')
  })

  it('maps a fetch failure to ERR_NETWORK', async () => {
    const err = await refreshWith(() => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      })
    })
    expect(err.code).toBe('ERR_NETWORK')
  })

  it('maps an unknown token_type to ERR_TOKEN_TYPE_UNSUPPORTED', async () => {
    const err = await refreshWith(() => json({ access_token: 'a', token_type: 'mac' }))
    expect(err.code).toBe('ERR_TOKEN_TYPE_UNSUPPORTED')
  })

  it('returns a CodegrantError found in the cause chain as is', () => {
    const inner = new CodegrantError('ERR_TIMEOUT', 'x')
    expect(toCodegrantError(new Error('wrap', { cause: inner }), 'ctx')).toBe(inner)
  })

  it('maps an unknown value without leaking its message', () => {
    const err = toCodegrantError(new Error(`boom ${SECRET}`), 'ctx')
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
    assertClean(err)
  })
})

describe('toCodegrantError refines oauth4webapi codes by their cause, not their message (issue 12)', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

  /** A code exchange answered with `body`; the error as mapped, and the openid-client error. */
  async function exchange(body: Record<string, unknown>) {
    const as = await createFakeAs()
    as.token = () => json(body)
    const client = await createClient({
      issuer: ISSUER,
      clientId: 'client-1',
      clientSecret: SECRET,
      redirectUri: 'https://app.example.com/callback',
      metadata: as.metadata,
      fetch: as.fetch,
    })
    const url = new URL('https://app.example.com/callback?code=c&state=s')
    const original = await openid
      .authorizationCodeGrant(getConfiguration(client), url, {
        expectedState: 's',
        pkceCodeVerifier: 'v'.repeat(43),
        idTokenExpected: true,
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      )
    expect(original).toBeInstanceOf(Error)
    return { mapped: toCodegrantError(original, 'code exchange'), original }
  }

  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      'an unknown token_type',
      { access_token: 'a', token_type: 'mac' },
      'OAUTH_UNSUPPORTED_OPERATION',
      'ERR_TOKEN_TYPE_UNSUPPORTED',
    ],
    [
      'an encrypted (JWE) ID token',
      { access_token: 'a', token_type: 'Bearer', id_token: 'a.b.c.d.e' },
      'OAUTH_UNSUPPORTED_OPERATION',
      'ERR_ID_TOKEN_INVALID',
    ],
    [
      'an ID token with a "crit" header',
      {
        access_token: 'a',
        token_type: 'Bearer',
        id_token: `${b64({ alg: 'RS256', crit: ['x'], x: 1 })}.${b64({})}.c2ln`,
      },
      'OAUTH_UNSUPPORTED_OPERATION',
      'ERR_ID_TOKEN_INVALID',
    ],
    [
      'an ID token that is not a JWT',
      { access_token: 'a', token_type: 'Bearer', id_token: 'not-a-jwt' },
      'OAUTH_INVALID_RESPONSE',
      'ERR_ID_TOKEN_INVALID',
    ],
    [
      'an ID token without "iat"',
      {
        access_token: 'a',
        token_type: 'Bearer',
        id_token: `${b64({ alg: 'RS256' })}.${b64({ iss: ISSUER, aud: 'client-1', sub: 'u', exp: 2e9 })}.c2ln`,
      },
      'OAUTH_INVALID_RESPONSE',
      'ERR_ID_TOKEN_INVALID',
    ],
    [
      'no id_token although openid was asked',
      { access_token: 'a', token_type: 'Bearer' },
      'OAUTH_INVALID_RESPONSE',
      'ERR_ID_TOKEN_MISSING',
    ],
    [
      'an id_token that is not a string',
      { access_token: 'a', token_type: 'Bearer', id_token: 42 },
      'OAUTH_INVALID_RESPONSE',
      'ERR_ID_TOKEN_MISSING',
    ],
    [
      'no access_token',
      { token_type: 'Bearer', id_token: 'x.y.z' },
      'OAUTH_INVALID_RESPONSE',
      'ERR_RESPONSE_INVALID',
    ],
  ]

  it.each(cases)('%s', async (_name, body, oauthCode, code) => {
    const { mapped, original } = await exchange(body)
    // The input is a real openid-client error with the oauth4webapi code this case is about.
    let inner: unknown = original
    const codes: unknown[] = []
    while (inner instanceof Error) {
      codes.push((inner as { code?: unknown }).code)
      inner = inner.cause
    }
    expect(codes).toContain(oauthCode)
    expect(mapped.code).toBe(code)
  })
})
