import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier, ResourceServerError } from '../src/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, type SigningKey } from './helpers.js'

let rsa: SigningKey
beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})
afterEach(() => {
  vi.useRealTimers()
})

async function code(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return { code: (err as ResourceServerError).code, status: (err as ResourceServerError).status }
}

describe('availability', () => {
  it('starts while the AS is down, answers 503, and recovers without a restart', async () => {
    const as = fakeAs([rsa.publicJwk])
    as.down = true
    const logger = { warn: vi.fn() }
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch, logger })
    const token = await mint(rsa)
    expect(await code(verifier.verify(bearer(token)))).toEqual({
      code: 'ERR_DISCOVERY_FAILED',
      status: 503,
    })
    // within the backoff: no new request to the AS
    const before = as.requests.length
    expect((await code(verifier.verify(bearer(token)))).status).toBe(503)
    expect(as.requests.length).toBe(before)
    as.down = false
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 1500)
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ sub: 'user-1' })
  })

  it('answers 503 while the JWKS endpoint is down at start, then recovers', async () => {
    const as = fakeAs([rsa.publicJwk])
    as.jwksDown = true
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const token = await mint(rsa)
    expect(await code(verifier.verify(bearer(token)))).toEqual({
      code: 'ERR_KEYS_UNAVAILABLE',
      status: 503,
    })
    as.jwksDown = false
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 1500)
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ sub: 'user-1' })
    expect(as.counts.discovery).toBe(1)
  })

  it('keeps the last good keys while the JWKS endpoint fails', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
      jwksMaxAge: 1,
      jwksCooldown: 0,
      cacheMaxEntries: 0,
    })
    await verifier.verify(bearer(await mint(rsa)))
    as.jwksDown = true
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 5000)
    // stale: a background refresh fails, the old keys still verify
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
    await new Promise((resolve) => setImmediate(resolve))
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
    expect(as.counts.jwks).toBeGreaterThan(1)
    // an unknown kid cannot be checked now: refused as unavailable, never accepted
    const stranger = await makeKey('RS256', 'new-key')
    expect(await code(verifier.verify(bearer(await mint(stranger))))).toEqual({
      code: 'ERR_KEYS_UNAVAILABLE',
      status: 503,
    })
  })

  it('refuses a JWKS without a usable key and keeps the previous one', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
      jwksCooldown: 0,
      cacheMaxEntries: 0,
    })
    await verifier.verify(bearer(await mint(rsa)))
    as.keys = [{ kty: 'oct', k: 'AAAA', kid: 'x' }, { ...rsa.publicJwk, d: 'private' } as never]
    const stranger = await makeKey('RS256', 'unknown')
    expect((await code(verifier.verify(bearer(await mint(stranger))))).status).toBe(503)
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
  })

  it('checks the discovered issuer when discovery derives from it', async () => {
    const as = fakeAs([rsa.publicJwk], { issuer: 'https://evil.example.com' })
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const err = await code(verifier.verify(bearer(await mint(rsa))))
    expect(err.code).toBe('ERR_ISSUER_MISMATCH')
    expect(err.status).toBe(503)
  })

  it('refuses a discovered jwks_uri over plain http on a public host', async () => {
    const as = fakeAs([rsa.publicJwk], { jwks_uri: 'http://as.example.com/jwks' })
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    expect((await code(verifier.verify(bearer(await mint(rsa))))).code).toBe('ERR_DISCOVERY_FAILED')
  })

  it('skips discovery with an explicit jwksUri', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({
      issuer: 'urn:not-a-url-issuer',
      jwksUri: `${ISSUER}/jwks`,
      audience: AUDIENCE,
      fetch: as.fetch,
    })
    await expect(
      verifier.verify(bearer(await mint(rsa, { iss: 'urn:not-a-url-issuer' }))),
    ).resolves.toBeDefined()
    expect(as.counts.discovery).toBe(0)
  })
})
