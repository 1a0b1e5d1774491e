import { afterEach, describe, expect, it, vi } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { createAuthorizationRequest } from '../src/authorize.js'
import { handleCallback } from '../src/callback.js'
import type { Client } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import type { LoginTransaction } from '../src/types.js'
import { setupFakeAs } from './helpers/clients.js'
import { ISSUER, json, type FakeAs } from './helpers/fake-as.js'

const SECRET = 'client-secret-value-0123456789abcdef'
const CODE = 'authorization-code-value-xyz'
const REDIRECT = 'https://app.example.com/callback'

function setup(metadata: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  return setupFakeAs(metadata, {
    clientSecret: SECRET,
    redirectUri: REDIRECT,
    timeout: 500,
    ...options,
  })
}

/** Makes the token endpoint answer with an ID token for this transaction (claims overridable). */
function answer(
  as: FakeAs,
  tx: LoginTransaction,
  claims: JWTPayload = {},
  body: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) {
  as.token = async () =>
    json({
      access_token: 'at-1',
      token_type: 'Bearer',
      expires_in: 300,
      refresh_token: 'rt-1',
      id_token: await as.idToken({ nonce: tx.nonce, ...claims }, header),
      ...body,
    })
}

function callbackUrl(tx: LoginTransaction, params: Record<string, string> = {}, base = REDIRECT) {
  const url = new URL(base)
  url.searchParams.set('code', CODE)
  url.searchParams.set('state', tx.state)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url
}

async function failure(promise: Promise<unknown>): Promise<CodegrantError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CodegrantError)
  const cg = err as CodegrantError
  expect(cg.message).not.toContain(SECRET)
  expect(cg.message).not.toContain(CODE)
  return cg
}

async function start(client: Client, params = {}) {
  return (await createAuthorizationRequest(client, params)).transaction
}

afterEach(() => {
  vi.useRealTimers()
})

describe('handleCallback: success', () => {
  it('exchanges the code with the PKCE verifier and the exact redirect_uri, basic auth', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx)
    const { tokens, claims } = await handleCallback(client, callbackUrl(tx), tx)
    expect(tokens).toMatchObject({
      access_token: 'at-1',
      token_type: 'Bearer',
      refresh_token: 'rt-1',
    })
    expect(tokens.expires_at).toBeGreaterThan(Date.now() / 1000 + 290)
    expect(typeof tokens.id_token).toBe('string')
    expect(claims).toMatchObject({ sub: 'user-1', iss: ISSUER, aud: 'client-1', nonce: tx.nonce })
    expect(JSON.parse(JSON.stringify({ tokens, claims }))).toEqual({ tokens, claims })
    const req = as.requests.find((r) => r.url.endsWith('/token'))
    const body = new URLSearchParams(req?.body)
    expect(body.get('grant_type')).toBe('authorization_code')
    expect(body.get('code')).toBe(CODE)
    expect(body.get('code_verifier')).toBe(tx.code_verifier)
    expect(body.get('redirect_uri')).toBe(REDIRECT)
    expect(body.has('client_secret')).toBe(false)
    // RFC 6749 2.3.1: form-urlencoded id and secret, then base64.
    const basic = req?.headers.get('authorization') ?? ''
    expect(basic).toMatch(/^Basic /)
    const [id, secret] = Buffer.from(basic.slice(6), 'base64')
      .toString()
      .split(':')
      .map(decodeURIComponent)
    expect([id, secret]).toEqual(['client-1', SECRET])
  })

  it('sends the registered redirect_uri when the callback arrived on another host and port (openid-client #868)', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx)
    await handleCallback(client, callbackUrl(tx, {}, 'http://10.0.0.7:8080/callback').href, tx)
    const body = new URLSearchParams(as.requests.find((r) => r.url.endsWith('/token'))?.body)
    expect(body.get('redirect_uri')).toBe(REDIRECT)
  })

  it('accepts a relative callback URL (req.originalUrl)', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx)
    const url = callbackUrl(tx)
    await expect(handleCallback(client, `${url.pathname}${url.search}`, tx)).resolves.toBeDefined()
  })

  it('accepts a form_post body, as an object or URLSearchParams', async () => {
    const { as, client } = await setup()
    for (const asObject of [true, false]) {
      const tx = await start(client, { responseMode: 'form_post' })
      answer(as, tx)
      const params = { code: CODE, state: tx.state }
      const body = asObject ? params : new URLSearchParams(params)
      const { claims } = await handleCallback(client, { body }, tx)
      expect(claims?.sub).toBe('user-1')
    }
  })

  it('normalises token_type case-insensitively (bearer, DPOP)', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx, {}, { token_type: 'bEaReR' })
    expect((await handleCallback(client, callbackUrl(tx), tx)).tokens.token_type).toBe('Bearer')
  })

  it('tolerates an absent iss when the metadata does not advertise it, and accepts a correct one', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx)
    await expect(
      handleCallback(client, callbackUrl(tx, { iss: ISSUER }), tx),
    ).resolves.toBeDefined()
  })

  it('passes the resource indicators to the token endpoint', async () => {
    const { as, client } = await setup()
    const tx = await start(client, { resource: 'https://api.example.com' })
    answer(as, tx)
    await handleCallback(client, callbackUrl(tx), tx)
    const body = new URLSearchParams(as.requests.find((r) => r.url.endsWith('/token'))?.body)
    expect(body.getAll('resource')).toEqual(['https://api.example.com'])
  })
})

describe('handleCallback: authorization response checks', () => {
  it('refuses an expired transaction before anything else', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    const expired = { ...tx, expires_at: Math.floor(Date.now() / 1000) - 1 }
    const err = await failure(handleCallback(client, callbackUrl(tx, { state: 'wrong' }), expired))
    expect(err.code).toBe('ERR_TRANSACTION_EXPIRED')
    expect(as.requests).toHaveLength(0)
  })

  it('maps error= to ERR_AUTHORIZATION_ERROR with error and error_description', async () => {
    const { client } = await setup()
    const tx = await start(client)
    const url = new URL(REDIRECT)
    url.searchParams.set('error', 'access_denied')
    url.searchParams.set('error_description', 'the user said no')
    url.searchParams.set('state', tx.state)
    const err = await failure(handleCallback(client, url, tx))
    expect(err.code).toBe('ERR_AUTHORIZATION_ERROR')
    expect(err.error).toBe('access_denied')
    expect(err.error_description).toBe('the user said no')
  })

  it('names a well-formed AS error code in the message', async () => {
    const { client } = await setup()
    const tx = await start(client)
    const url = new URL(REDIRECT)
    url.searchParams.set('error', 'access_denied')
    url.searchParams.set('state', tx.state)
    const err = await failure(handleCallback(client, url, tx))
    expect(err.message).toBe('the authorization server answered access_denied')
  })

  it('never echoes an AS error string that is not a plain code into the message (regression, issue 15)', async () => {
    const { client } = await setup()
    for (const error of [
      '<script>alert(1)</script>',
      'access_denied\nLOG INJECTION',
      'eyJhbGciOiJSUzI1NiJ9 leaked token',
      'x'.repeat(65),
      '',
    ]) {
      const tx = await start(client)
      const url = new URL(REDIRECT)
      url.searchParams.set('error', error)
      url.searchParams.set('state', tx.state)
      const err = await failure(handleCallback(client, url, tx))
      expect(err.code).toBe('ERR_AUTHORIZATION_ERROR')
      expect(err.message, JSON.stringify(error)).toBe('the authorization server answered an error')
      // The raw value stays available to the caller, as data.
      expect(err.error).toBe(error)
    }
  })

  it('checks state before error= (an injected error response is a state mismatch)', async () => {
    const { client } = await setup()
    const tx = await start(client)
    const url = new URL(REDIRECT)
    url.searchParams.set('error', 'access_denied')
    url.searchParams.set('state', 'attacker')
    expect((await failure(handleCallback(client, url, tx))).code).toBe('ERR_STATE_MISMATCH')
    url.searchParams.delete('state')
    expect((await failure(handleCallback(client, url, tx))).code).toBe('ERR_STATE_MISMATCH')
  })

  it('refuses a state mismatch or a missing state', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    expect((await failure(handleCallback(client, callbackUrl(tx, { state: 'x' }), tx))).code).toBe(
      'ERR_STATE_MISMATCH',
    )
    const url = callbackUrl(tx)
    url.searchParams.delete('state')
    expect((await failure(handleCallback(client, url, tx))).code).toBe('ERR_STATE_MISMATCH')
    expect(as.requests).toHaveLength(0)
  })

  it('refuses a wrong iss (RFC 9207)', async () => {
    const { client } = await setup()
    const tx = await start(client)
    const err = await failure(
      handleCallback(client, callbackUrl(tx, { iss: 'https://evil.example.com' }), tx),
    )
    expect(err.code).toBe('ERR_ISS_MISMATCH')
  })

  it('requires iss when the metadata advertises it', async () => {
    const { as, client } = await setup({ authorization_response_iss_parameter_supported: true })
    const tx = await start(client)
    expect((await failure(handleCallback(client, callbackUrl(tx), tx))).code).toBe(
      'ERR_ISS_MISMATCH',
    )
    answer(as, tx)
    await expect(
      handleCallback(client, callbackUrl(tx, { iss: ISSUER }), tx),
    ).resolves.toBeDefined()
  })

  it('refuses a callback without code, with a repeated parameter, or in the wrong response mode', async () => {
    const { client } = await setup()
    const tx = await start(client)
    const url = callbackUrl(tx)
    url.searchParams.delete('code')
    expect((await failure(handleCallback(client, url, tx))).code).toBe('ERR_CALLBACK_INVALID')
    const twice = callbackUrl(tx)
    twice.searchParams.append('code', 'other')
    expect((await failure(handleCallback(client, twice, tx))).code).toBe('ERR_CALLBACK_INVALID')
    expect(
      (await failure(handleCallback(client, { body: { code: CODE, state: tx.state } }, tx))).code,
    ).toBe('ERR_CALLBACK_INVALID')
  })

  it('refuses a malformed transaction with a TypeError', async () => {
    const { client } = await setup()
    await expect(
      handleCallback(client, REDIRECT, {} as unknown as LoginTransaction),
    ).rejects.toThrow(TypeError)
  })
})

describe('handleCallback: token endpoint failures', () => {
  it.each([
    [
      () => json({ error: 'invalid_grant', error_description: 'code reused' }, 400),
      'ERR_INVALID_GRANT',
    ],
    [() => json({ error: 'invalid_client' }, 401), 'ERR_CLIENT_AUTH_REFUSED'],
    [() => new Response('<html>oops</html>', { status: 500 }), 'ERR_RESPONSE_INVALID'],
    [
      () => new Response('not json', { status: 200, headers: { 'content-type': 'text/plain' } }),
      'ERR_RESPONSE_INVALID',
    ],
    [() => new Promise<Response>(() => {}), 'ERR_TIMEOUT'],
  ] as const)('maps answer %# to %s', async (respond, code) => {
    const { as, client } = await setup()
    const tx = await start(client)
    as.token = respond
    expect((await failure(handleCallback(client, callbackUrl(tx), tx))).code).toBe(code)
  })

  it('refuses a response without id_token when openid was requested (ERR_ID_TOKEN_MISSING)', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    as.token = () => json({ access_token: 'a', token_type: 'Bearer' })
    expect((await failure(handleCallback(client, callbackUrl(tx), tx))).code).toBe(
      'ERR_ID_TOKEN_MISSING',
    )
  })

  it('accepts a response without id_token when openid was not requested', async () => {
    const { as, client } = await setup()
    const tx = await start(client, { scope: 'api:read' })
    as.token = () => json({ access_token: 'a', token_type: 'Bearer' })
    const result = await handleCallback(client, callbackUrl(tx), tx)
    expect(result.claims).toBeUndefined()
    expect(result.tokens).toEqual({ access_token: 'a', token_type: 'Bearer' })
  })

  it('refuses a token_type other than Bearer or DPoP', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx, {}, { token_type: 'MAC' })
    expect((await failure(handleCallback(client, callbackUrl(tx), tx))).code).toBe(
      'ERR_TOKEN_TYPE_UNSUPPORTED',
    )
  })
})

describe('handleCallback: ID token validation', () => {
  const now = () => Math.floor(Date.now() / 1000)

  async function expectIdTokenInvalid(
    claims: JWTPayload,
    opts: {
      header?: Record<string, unknown>
      idToken?: (as: FakeAs, tx: LoginTransaction) => Promise<string>
      params?: object
    } = {},
  ) {
    const { as, client } = await setup()
    const tx = await start(client, opts.params)
    if (opts.idToken) {
      const make = opts.idToken
      as.token = async () =>
        json({ access_token: 'a', token_type: 'Bearer', id_token: await make(as, tx) })
    } else {
      answer(as, tx, claims, {}, opts.header)
    }
    const err = await failure(handleCallback(client, callbackUrl(tx), tx))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    return err
  }

  it('refuses a bad signature', async () => {
    const other = await generateKeyPair('RS256')
    await expectIdTokenInvalid(
      {},
      {
        idToken: (as, tx) => as.idToken({ nonce: tx.nonce }, {}, other.privateKey),
      },
    )
  })

  it('refuses alg none', async () => {
    await expectIdTokenInvalid(
      {},
      {
        idToken: async (_as, tx) => {
          const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
          return `${enc({ alg: 'none' })}.${enc({ iss: ISSUER, aud: 'client-1', sub: 'u', iat: now(), exp: now() + 60, nonce: tx.nonce })}.`
        },
      },
    )
  })

  it('refuses HS256 signed with the client secret when RS256 is registered', async () => {
    await expectIdTokenInvalid(
      {},
      {
        idToken: (_as, tx) =>
          new SignJWT({
            iss: ISSUER,
            aud: 'client-1',
            sub: 'u',
            iat: now(),
            exp: now() + 60,
            nonce: tx.nonce,
          })
            .setProtectedHeader({ alg: 'HS256' })
            .sign(new TextEncoder().encode(SECRET)),
      },
    )
  })

  it('refuses a wrong iss', () => expectIdTokenInvalid({ iss: 'https://evil.example.com' }))
  it('refuses a wrong aud', () => expectIdTokenInvalid({ aud: 'someone-else' }))
  it('refuses several audiences without azp', () =>
    expectIdTokenInvalid({ aud: ['client-1', 'other'] }))
  it('refuses several audiences with a wrong azp', () =>
    expectIdTokenInvalid({ aud: ['client-1', 'other'], azp: 'other' }))
  it('refuses an expired ID token', () =>
    expectIdTokenInvalid({ iat: now() - 600, exp: now() - 60 }))
  it('refuses a missing iat', () => expectIdTokenInvalid({ iat: undefined }))
  it('refuses a missing sub', () => expectIdTokenInvalid({ sub: undefined }))
  it('refuses a nonce mismatch', () => expectIdTokenInvalid({ nonce: 'other' }))
  it('refuses a missing nonce', async () => {
    await expectIdTokenInvalid(
      {},
      {
        idToken: (as) => as.idToken({}),
      },
    )
  })
  it('refuses an auth_time older than max_age', () =>
    expectIdTokenInvalid({ auth_time: now() - 3600 }, { params: { maxAge: 60 } }))
  it('refuses a missing auth_time when max_age was sent', () =>
    expectIdTokenInvalid({}, { params: { maxAge: 60 } }))

  it('accepts several audiences with azp = client_id, and a fresh auth_time with max_age', async () => {
    const { as, client } = await setup()
    const tx = await start(client, { maxAge: 60 })
    answer(as, tx, { aud: ['client-1', 'other'], azp: 'client-1', auth_time: now() - 5 })
    const { claims } = await handleCallback(client, callbackUrl(tx), tx)
    expect(claims?.azp).toBe('client-1')
  })

  it('accepts an ID token without kid when the JWKS has one applicable key', async () => {
    const { as, client } = await setup()
    const tx = await start(client)
    answer(as, tx, {}, {}, { kid: undefined })
    await expect(handleCallback(client, callbackUrl(tx), tx)).resolves.toBeDefined()
  })

  it('refuses an ID token without kid when the JWKS has several applicable keys', async () => {
    const { as, client } = await setup()
    const extra = await generateKeyPair('RS256')
    as.jwks.keys.push({
      ...(await exportJWK(extra.publicKey)),
      kid: 'key-extra',
      alg: 'RS256',
      use: 'sig',
    })
    const tx = await start(client)
    answer(as, tx, {}, {}, { kid: undefined })
    // A "kid" is needed to choose between several candidate keys: refused rather than trying
    // each (jose's JWKSMultipleMatchingKeys).
    const err = await failure(handleCallback(client, callbackUrl(tx), tx))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
  })

  it('accepts a key rotated to a new kid after one JWKS refetch, and does not refetch on a flood of unknown kids', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const start0 = Date.now()
    const { as, client } = await setup()
    const tx1 = await start(client)
    answer(as, tx1)
    await handleCallback(client, callbackUrl(tx1), tx1)
    expect(as.jwksFetches).toBe(1)

    // Rotation: the AS now signs with key-2, published in its JWKS.
    const rotated = await generateKeyPair('RS256')
    as.jwks.keys = [
      { ...(await exportJWK(rotated.publicKey)), kid: 'key-2', alg: 'RS256', use: 'sig' },
    ]
    as.signingKey = rotated.privateKey
    as.kid = 'key-2'

    // Within the 30 s cooldown after the last fetch, unknown kids are refused without
    // refetching (flood guard).
    for (let i = 0; i < 5; i++) {
      const tx = await start(client)
      answer(as, tx, {}, {}, { kid: `unknown-${i}` })
      expect((await failure(handleCallback(client, callbackUrl(tx), tx))).code).toBe(
        'ERR_ID_TOKEN_INVALID',
      )
    }
    expect(as.jwksFetches).toBe(1)

    // After the cooldown, an unknown kid triggers exactly one refetch.
    vi.setSystemTime(start0 + 61_000)
    const tx2 = await start(client)
    answer(as, tx2)
    const { claims } = await handleCallback(client, callbackUrl(tx2), tx2)
    expect(claims?.sub).toBe('user-1')
    expect(as.jwksFetches).toBe(2)
  })
})
