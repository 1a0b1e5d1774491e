import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import { CodegrantError } from '../src/errors.js'
import { validateLogoutToken } from '../src/logout-token.js'

const ISSUER = 'https://as.example.com'
const CLIENT_ID = 'web-1'
const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

let signingKey: CryptoKey
let otherKey: CryptoKey
let jwks: { keys: JWK[] }

beforeAll(async () => {
  ;({ privateKey: signingKey } = await generateKeyPair('RS256').then(async (pair) => {
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
    return pair
  }))
  ;({ privateKey: otherKey } = await generateKeyPair('RS256'))
})

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

async function makeClient(
  jwksHandler: () => Response | Promise<Response> = () => json(jwks),
  options: { timeout?: number } = {},
): Promise<{ client: Client; jwksFetches: () => number }> {
  let count = 0
  const client = await createClient({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    clientSecret: 'secret',
    redirectUri: 'https://app.example.com/callback',
    metadata: {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
    },
    ...options,
    fetch: async (input) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      if (new URL(url).pathname === '/jwks') {
        count++
        return jwksHandler()
      }
      return new Response('not found', { status: 404 })
    },
  })
  return { client, jwksFetches: () => count }
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: CLIENT_ID,
    iat: now,
    exp: now + 120,
    jti: 'jti-1',
    sub: 'user-1',
    sid: 'sid-1',
    events: { [EVENT]: {} },
    ...overrides,
  }
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k]
  return payload
}

function sign(
  payload: JWTPayload,
  header: Record<string, unknown> = {},
  key: CryptoKey = signingKey,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt', ...header } as never)
    .sign(key)
}

async function rejection(client: Client, token: string): Promise<CodegrantError> {
  const err = await validateLogoutToken(client, token).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CodegrantError)
  const typed = err as CodegrantError
  if (token) expect(typed.message).not.toContain(token)
  return typed
}

describe('validateLogoutToken', () => {
  it('accepts a valid logout token and returns sub, sid and the claims', async () => {
    const { client } = await makeClient()
    const result = await validateLogoutToken(client, await sign(claims()))
    expect(result.sub).toBe('user-1')
    expect(result.sid).toBe('sid-1')
    expect(result.claims.jti).toBe('jti-1')
    expect(result.claims.events).toEqual({ [EVENT]: {} })
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
  })

  it('accepts typ JWT, application/logout+jwt or no typ, an aud array, sid alone, sub alone', async () => {
    const { client } = await makeClient()
    await expect(
      validateLogoutToken(client, await sign(claims(), { typ: 'JWT' })),
    ).resolves.toBeDefined()
    await expect(
      validateLogoutToken(client, await sign(claims(), { typ: 'application/logout+jwt' })),
    ).resolves.toBeDefined()
    await expect(
      validateLogoutToken(client, await sign(claims(), { typ: undefined })),
    ).resolves.toBeDefined()
    await expect(
      validateLogoutToken(client, await sign(claims({ aud: ['other', CLIENT_ID] }))),
    ).resolves.toBeDefined()
    const sidOnly = await validateLogoutToken(client, await sign(claims({ sub: undefined })))
    expect(sidOnly).toEqual(expect.objectContaining({ sid: 'sid-1' }))
    expect(sidOnly.sub).toBeUndefined()
    const subOnly = await validateLogoutToken(client, await sign(claims({ sid: undefined })))
    expect(subOnly.sub).toBe('user-1')
    expect(subOnly.sid).toBeUndefined()
  })

  it('fetches the JWKS once for several tokens', async () => {
    const { client, jwksFetches } = await makeClient()
    await validateLogoutToken(client, await sign(claims({ jti: 'a' })))
    await validateLogoutToken(client, await sign(claims({ jti: 'b' })))
    expect(jwksFetches()).toBe(1)
  })

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['bad signature', () => sign(claims(), {}, otherKey), /bad signature/],
    ['unknown kid', () => sign(claims(), { kid: 'k2' }), /no matching key/],
    ['wrong iss', () => sign(claims({ iss: 'https://evil.example.com' })), /invalid iss/],
    ['wrong aud', () => sign(claims({ aud: 'someone-else' })), /invalid aud/],
    ['missing iss', () => sign(claims({ iss: undefined })), /missing iss/],
    ['missing aud', () => sign(claims({ aud: undefined })), /missing aud/],
    ['missing iat', () => sign(claims({ iat: undefined })), /missing iat/],
    [
      'iat in the future',
      () => sign(claims({ iat: Math.floor(Date.now() / 1000) + 600 })),
      /iat in the future/,
    ],
    [
      'iat too old',
      () => sign(claims({ iat: Math.floor(Date.now() / 1000) - 3600, exp: undefined })),
      /iat too far in the past/,
    ],
    ['expired', () => sign(claims({ exp: Math.floor(Date.now() / 1000) - 60 })), /expired/],
    ['missing jti', () => sign(claims({ jti: undefined })), /missing jti/],
    ['empty jti', () => sign(claims({ jti: '' })), /invalid jti/],
    ['missing events', () => sign(claims({ events: undefined })), /missing events/],
    [
      'events without the back-channel logout event',
      () => sign(claims({ events: { 'http://example.com/other': {} } })),
      /events/,
    ],
    ['event member not an object', () => sign(claims({ events: { [EVENT]: 'yes' } })), /events/],
    ['events as an array', () => sign(claims({ events: [EVENT] })), /events/],
    ['has a nonce', () => sign(claims({ nonce: 'n-1' })), /nonce/],
    [
      'neither sub nor sid',
      () => sign(claims({ sub: undefined, sid: undefined })),
      /neither sub nor sid/,
    ],
    ['non-string sid', () => sign(claims({ sid: 42 })), /invalid sid/],
    ['typ of another JWT kind', () => sign(claims(), { typ: 'at+jwt' }), /typ/],
    ['alg none', async () => new UnsecuredJWT(claims()).encode(), /alg not allowed|malformed/],
    ['not a JWT', async () => 'not.a.jwt', /malformed/],
  ]

  it.each(cases)('rejects: %s', async (_name, make, message) => {
    const { client } = await makeClient()
    const err = await rejection(client, await make())
    expect(err.code).toBe('ERR_LOGOUT_TOKEN_INVALID')
    expect(err.message).toMatch(message)
  })

  it('rejects an alg other than the registered ID token alg', async () => {
    const { client } = await makeClient()
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    jwks.keys.push({ ...(await exportJWK(publicKey)), kid: 'ec', alg: 'ES256' })
    try {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'ES256', kid: 'ec', typ: 'logout+jwt' })
        .sign(privateKey)
      const err = await rejection(client, token)
      expect(err.code).toBe('ERR_LOGOUT_TOKEN_INVALID')
      expect(err.message).toMatch(/alg not allowed/)
    } finally {
      jwks.keys.pop()
    }
  })

  it('rejects an empty token', async () => {
    const { client } = await makeClient()
    const err = await rejection(client, '')
    expect(err.code).toBe('ERR_LOGOUT_TOKEN_INVALID')
  })

  it('calls the replay guard last, with the jti and a bounded expiry, and refuses a replay', async () => {
    const { client } = await makeClient()
    const seen = new Map<string, number>()
    const isReplay = vi.fn((jti: string, expiresAt: number) => {
      if (seen.has(jti)) return true
      seen.set(jti, expiresAt)
      return false
    })
    const token = await sign(claims({ jti: 'once' }))
    await validateLogoutToken(client, token, { isReplay })
    const err = await validateLogoutToken(client, token, { isReplay }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CodegrantError)
    expect((err as CodegrantError).code).toBe('ERR_LOGOUT_TOKEN_INVALID')
    expect((err as CodegrantError).message).toMatch(/replay/)
    const now = Math.floor(Date.now() / 1000)
    const expiresAt = seen.get('once') as number
    expect(expiresAt).toBeGreaterThan(now)
    expect(expiresAt).toBeLessThanOrEqual(now + 120 + 5 + 1)

    // An invalid token never reaches the guard.
    isReplay.mockClear()
    await validateLogoutToken(client, await sign(claims({ nonce: 'x' })), { isReplay }).catch(
      () => undefined,
    )
    expect(isReplay).not.toHaveBeenCalled()
  })

  it('honours maxAge', async () => {
    const { client } = await makeClient()
    const iat = Math.floor(Date.now() / 1000) - 60
    const token = await sign(claims({ iat, exp: undefined }))
    await expect(validateLogoutToken(client, token, { maxAge: 120 })).resolves.toBeDefined()
    const err = await validateLogoutToken(client, token, { maxAge: 30 }).catch((e: unknown) => e)
    expect((err as CodegrantError).code).toBe('ERR_LOGOUT_TOKEN_INVALID')
    await expect(validateLogoutToken(client, token, { maxAge: -1 })).rejects.toThrow(TypeError)
  })

  it('reports an unreachable JWKS as ERR_NETWORK, not as an invalid token', async () => {
    const { client } = await makeClient(() => {
      throw new TypeError('fetch failed')
    })
    const err = await rejection(client, await sign(claims()))
    expect(err.code).toBe('ERR_NETWORK')
  })

  it('reports a JWKS endpoint error as ERR_RESPONSE_INVALID', async () => {
    const { client } = await makeClient(() => json({ error: 'boom' }, 500))
    const err = await rejection(client, await sign(claims()))
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
  })

  it('reports a JWKS that does not answer in time as ERR_TIMEOUT', async () => {
    const { client } = await makeClient(() => new Promise<Response>(() => {}), { timeout: 50 })
    const err = await rejection(client, await sign(claims()))
    expect(err.code).toBe('ERR_TIMEOUT')
  })
})
