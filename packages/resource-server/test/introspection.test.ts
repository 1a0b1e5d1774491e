import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { exportJWK, generateKeyPair, jwtVerify } from 'jose'
import { createVerifier, ResourceServerError, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from './helpers.js'

let rsa: SigningKey
beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(() => {
  vi.useRealTimers()
})

const active = (extra: Record<string, unknown> = {}) => ({
  active: true,
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-1',
  client_id: 'client-1',
  scope: 'read:messages',
  exp: now() + 300,
  token_type: 'Bearer',
  ...extra,
})

function setup(options: Partial<VerifierOptions> = {}) {
  const as = fakeAs([rsa.publicJwk])
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: as.fetch,
    introspection: { clientId: 'rs', clientSecret: 's3cr:et /+' },
    ...options,
  })
  return { as, verifier }
}

async function code(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return (err as ResourceServerError).code
}

describe('introspection', () => {
  it('validates opaque tokens with client_secret_basic and caches the result', async () => {
    const { as, verifier } = setup()
    as.introspect = (token) => (token === 'opaque-1' ? active() : { active: false })
    const auth = await verifier.verify(bearer('opaque-1'))
    expect(auth).toMatchObject({ format: 'opaque', sub: 'user-1', scopes: ['read:messages'] })
    await verifier.verify(bearer('opaque-1'))
    expect(as.counts.introspection).toBe(1)
    const request = as.requests.find((r) => r.url.endsWith('/introspect'))!
    // RFC 6749 §2.3.1: form-encoded before base64
    expect(request.headers.get('authorization')).toBe(
      `Basic ${Buffer.from('rs:s3cr%3Aet+%2F%2B').toString('base64')}`,
    )
    expect(new URLSearchParams(request.body).get('token_type_hint')).toBe('access_token')
    expect(request.body).not.toContain('client_secret')
  })

  it('supports client_secret_post', async () => {
    const { as, verifier } = setup({
      introspection: { clientId: 'rs', clientSecret: 'secret', authMethod: 'client_secret_post' },
    })
    as.introspect = (_token, body, headers) =>
      body.get('client_id') === 'rs' &&
      body.get('client_secret') === 'secret' &&
      !headers.has('authorization')
        ? active()
        : { active: false }
    await expect(verifier.verify(bearer('opaque-1'))).resolves.toMatchObject({ sub: 'user-1' })
  })

  it('supports private_key_jwt', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'rs-key' }
    const { as, verifier } = setup({
      introspection: { clientId: 'rs', privateKey: jwk as JsonWebKey },
    })
    let claims: Record<string, unknown> = {}
    as.introspect = () => active()
    await verifier.verify(bearer('opaque-1'))
    const body = new URLSearchParams(as.requests.find((r) => r.url.endsWith('/introspect'))!.body)
    expect(body.get('client_assertion_type')).toBe(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
    const verified = await jwtVerify(body.get('client_assertion')!, publicKey, {
      issuer: 'rs',
      audience: ISSUER,
    })
    claims = verified.payload
    expect(claims.sub).toBe('rs')
    expect(verified.protectedHeader.kid).toBe('rs-key')
  })

  it('introspects one token once when requests race (single-flight)', async () => {
    const { as, verifier } = setup()
    let release!: () => void
    as.hold = new Promise((resolve) => (release = resolve))
    as.introspect = () => active()
    const pending = Array.from({ length: 20 }, () => verifier.verify(bearer('opaque-1')))
    await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    const results = await Promise.all(pending)
    expect(new Set(results).size).toBe(1)
    expect(as.counts.introspection).toBe(1)
  })

  it('refuses inactive tokens and remembers that briefly', async () => {
    const { as, verifier } = setup({
      introspection: { clientId: 'rs', clientSecret: 'x', negativeCacheTtl: 5 },
    })
    expect(await code(verifier.verify(bearer('revoked')))).toBe('ERR_TOKEN_INACTIVE')
    expect(await code(verifier.verify(bearer('revoked')))).toBe('ERR_TOKEN_INACTIVE')
    expect(as.counts.introspection).toBe(1)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 6000)
    as.introspect = () => active()
    await expect(verifier.verify(bearer('revoked'))).resolves.toBeDefined()
    expect(as.counts.introspection).toBe(2)
  })

  it('caches active results no longer than cacheTtl', async () => {
    const { as, verifier } = setup({
      introspection: { clientId: 'rs', clientSecret: 'x', cacheTtl: 10 },
    })
    as.introspect = () => active({ exp: now() + 3600 })
    await verifier.verify(bearer('opaque-1'))
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 9000)
    await verifier.verify(bearer('opaque-1'))
    expect(as.counts.introspection).toBe(1)
    vi.setSystemTime(Date.now() + 2000)
    as.introspect = () => ({ active: false })
    expect(await code(verifier.verify(bearer('opaque-1')))).toBe('ERR_TOKEN_INACTIVE')
    expect(as.counts.introspection).toBe(2)
  })

  it('caches active results no longer than the token exp', async () => {
    const { as, verifier } = setup({
      clockTolerance: 0,
      introspection: { clientId: 'rs', clientSecret: 'x', cacheTtl: 3600 },
    })
    as.introspect = () => active({ exp: now() + 2 })
    await verifier.verify(bearer('opaque-1'))
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 3000)
    as.introspect = () => active({ exp: now() - 1 })
    expect(await code(verifier.verify(bearer('opaque-1')))).toBe('ERR_TOKEN_EXPIRED')
    expect(as.counts.introspection).toBe(2)
  })

  it('answers 503 and never accepts when the introspection endpoint fails', async () => {
    const { as, verifier } = setup()
    as.introspect = () => active()
    as.introspectionStatus = 500
    const err = await verifier.verify(bearer('opaque-1')).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_INTROSPECTION_FAILED', status: 503 })
    expect((err as ResourceServerError).headers['www-authenticate']).toBeUndefined()
    // failures are not cached
    as.introspectionStatus = 200
    await expect(verifier.verify(bearer('opaque-1'))).resolves.toBeDefined()
    as.down = true
    expect(await code(verifier.verify(bearer('opaque-2')))).toBe('ERR_INTROSPECTION_FAILED')
  })

  it('bounds the introspection answer: 512 KiB, and a timeout that covers the body', async () => {
    const as = fakeAs([rsa.publicJwk])
    let answer: 'large' | 'stall' = 'large'
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (!url.endsWith('/introspect')) return as.fetch(input, init)
      if (answer === 'large')
        return new Response(JSON.stringify({ ...active(), pad: 'x'.repeat(600 * 1024) }), {
          headers: { 'content-type': 'application/json' },
        })
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"active":'))
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    }
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch,
      timeout: 300,
      introspection: { clientId: 'rs', clientSecret: 'secret' },
    })
    expect(await code(verifier.verify(bearer('opaque-large')))).toBe('ERR_INTROSPECTION_FAILED')
    answer = 'stall'
    const started = Date.now()
    expect(await code(verifier.verify(bearer('opaque-stall')))).toBe('ERR_INTROSPECTION_FAILED')
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('refuses tokens for another audience or issuer, and refresh tokens', async () => {
    const { as, verifier } = setup()
    as.introspect = () => active({ aud: 'https://other.example.com' })
    expect(await code(verifier.verify(bearer('a')))).toBe('ERR_TOKEN_CLAIM_INVALID')
    as.introspect = () => active({ aud: undefined })
    expect(await code(verifier.verify(bearer('b')))).toBe('ERR_TOKEN_CLAIM_INVALID')
    as.introspect = () => active({ iss: 'https://evil.example.com' })
    expect(await code(verifier.verify(bearer('c')))).toBe('ERR_TOKEN_CLAIM_INVALID')
    as.introspect = () => active({ token_type: 'refresh_token' })
    expect(await code(verifier.verify(bearer('d')))).toBe('ERR_TOKEN_TYPE')
  })

  it('hybrid mode: JWTs locally, other tokens by introspection', async () => {
    const { as, verifier } = setup()
    as.introspect = () => active()
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toMatchObject({ format: 'jwt' })
    expect(as.counts.introspection).toBe(0)
    await expect(verifier.verify(bearer('opaque'))).resolves.toMatchObject({ format: 'opaque' })
    expect(as.counts.introspection).toBe(1)
  })

  it('introspects JWTs too with allTokens', async () => {
    const { as, verifier } = setup({
      introspection: { clientId: 'rs', clientSecret: 'x', allTokens: true },
    })
    as.introspect = () => ({ active: false })
    expect(await code(verifier.verify(bearer(await mint(rsa))))).toBe('ERR_TOKEN_INACTIVE')
    expect(as.counts.jwks).toBe(0)
  })

  it('without introspection, an opaque token is malformed', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    expect(await code(verifier.verify(bearer('opaque')))).toBe('ERR_TOKEN_MALFORMED')
  })
})
