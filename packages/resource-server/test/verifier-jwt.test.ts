import { createHmac, createPublicKey } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier, ResourceServerError, type VerifierOptions } from '../src/index.js'
import {
  AUDIENCE,
  b64,
  bearer,
  fakeAs,
  ISSUER,
  makeKey,
  mint,
  now,
  signRaw,
  type SigningKey,
} from './helpers.js'

let rsa: SigningKey
let ec: SigningKey
let ed: SigningKey
let other: SigningKey

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  ec = await makeKey('ES256', 'ec-1')
  ed = await makeKey('EdDSA', 'ed-1')
  other = await makeKey('RS256', 'rsa-1') // same kid, different key: a forgery
})

function setup(options: Partial<VerifierOptions> = {}) {
  const as = fakeAs([rsa.publicJwk, ec.publicJwk, ed.publicJwk])
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: as.fetch,
    ...options,
  })
  return { as, verifier }
}

async function rejection(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

describe('createVerifier: JWT access tokens', () => {
  it('accepts RS256, ES256 and EdDSA tokens and returns the claims', async () => {
    const { verifier } = setup()
    for (const key of [rsa, ec, ed]) {
      const auth = await verifier.verify(bearer(await mint(key, { scope: 'a b', scp: ['c', 'a'] })))
      expect(auth.sub).toBe('user-1')
      expect(auth.clientId).toBe('client-1')
      expect(auth.scopes).toEqual(['a', 'b', 'c'])
      expect(auth.format).toBe('jwt')
      expect(auth.tokenType).toBe('Bearer')
      expect(Object.isFrozen(auth.claims)).toBe(true)
    }
  })

  it('keeps the token off JSON.stringify(auth)', async () => {
    const { verifier } = setup()
    const token = await mint(rsa)
    const auth = await verifier.verify(bearer(token))
    expect(auth.token).toBe(token)
    expect(JSON.stringify(auth)).not.toContain(token)
  })

  it('accepts a lower-case scheme and an array audience', async () => {
    const { verifier } = setup()
    const token = await mint(rsa, { aud: ['https://other.example.com', AUDIENCE] })
    await expect(
      verifier.verify({ headers: { authorization: `bEaReR ${token}` } }),
    ).resolves.toMatchObject({ sub: 'user-1' })
  })

  it('refuses alg none', async () => {
    const { verifier } = setup()
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.x`
    expect((await rejection(verifier.verify(bearer(token)))).code).toBe('ERR_TOKEN_ALGORITHM')
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.`
    expect((await rejection(verifier.verify(bearer(unsigned)))).code).toBe('ERR_TOKEN_MALFORMED')
  })

  it('refuses HS256 signed with the RSA public key (key confusion)', async () => {
    const { verifier, as } = setup()
    const pem = createPublicKey({ key: rsa.publicJwk, format: 'jwk' } as never).export({
      type: 'spki',
      format: 'pem',
    })
    const input = `${b64({ alg: 'HS256', kid: 'rsa-1', typ: 'at+jwt' })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}`
    const sig = createHmac('sha256', pem).update(input).digest('base64url')
    const err = await rejection(verifier.verify(bearer(`${input}.${sig}`)))
    expect(err.code).toBe('ERR_TOKEN_ALGORITHM')
    expect(err.status).toBe(401)
    expect(err.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
    expect(as.counts.jwks).toBe(0)
  })

  it('accepts HS256 only with an explicit shared secret', async () => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!!'
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret })
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}`
    const good = createHmac('sha256', secret).update(input).digest('base64url')
    await expect(verifier.verify(bearer(`${input}.${good}`))).resolves.toMatchObject({
      format: 'jwt',
    })
    const bad = createHmac('sha256', `${secret}x`).update(input).digest('base64url')
    expect((await rejection(verifier.verify(bearer(`${input}.${bad}`)))).code).toBe(
      'ERR_TOKEN_SIGNATURE',
    )
  })

  it('refuses a token signed by another key under a known kid', async () => {
    const { verifier } = setup()
    const err = await rejection(verifier.verify(bearer(await mint(other))))
    expect(err.code).toBe('ERR_TOKEN_SIGNATURE')
  })

  it('refuses an unknown kid after one refetch', async () => {
    const { verifier, as } = setup({ jwksCooldown: 0 })
    await verifier.verify(bearer(await mint(rsa)))
    expect(as.counts.jwks).toBe(1)
    const stranger = await makeKey('RS256', 'unknown')
    const err = await rejection(verifier.verify(bearer(await mint(stranger))))
    expect(err.code).toBe('ERR_TOKEN_KEY_NOT_FOUND')
    expect(as.counts.jwks).toBe(2)
  })

  it('a flood of random kids costs at most one JWKS fetch per cooldown', async () => {
    const { verifier, as } = setup({ jwksCooldown: 60 })
    await verifier.verify(bearer(await mint(rsa)))
    const stranger = await makeKey('ES256', 'x')
    const flood = async (round: number) => {
      const tokens = await Promise.all(
        Array.from({ length: 50 }, (_, i) => mint(stranger, {}, { kid: `random-${round}-${i}` })),
      )
      const results = await Promise.allSettled(tokens.map((t) => verifier.verify(bearer(t))))
      for (const r of results)
        expect(r.status === 'rejected' && (r.reason as ResourceServerError).code).toBe(
          'ERR_TOKEN_KEY_NOT_FOUND',
        )
    }
    await flood(1) // within the cooldown of the first load: no fetch at all
    expect(as.counts.jwks).toBe(1)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      await flood(2) // one refetch for the whole flood
      await flood(3)
      expect(as.counts.jwks).toBe(2)
      vi.setSystemTime(Date.now() + 61_000)
      await flood(4)
      expect(as.counts.jwks).toBe(3)
    } finally {
      vi.useRealTimers()
    }
  })

  it('finds a rotated-in key with one refetch once the cooldown has passed', async () => {
    const { verifier, as } = setup({ jwksCooldown: 0 })
    await verifier.verify(bearer(await mint(rsa)))
    const next = await makeKey('RS256', 'rsa-2')
    as.keys = [...as.keys, next.publicJwk]
    await expect(verifier.verify(bearer(await mint(next)))).resolves.toMatchObject({
      sub: 'user-1',
    })
    expect(as.counts.jwks).toBe(2)
  })

  it('refuses the wrong issuer and the wrong audience', async () => {
    const { verifier } = setup()
    const iss = await rejection(
      verifier.verify(bearer(await mint(rsa, { iss: 'https://evil.example.com' }))),
    )
    expect(iss.code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect(iss.description).toContain('"iss"')
    const aud = await rejection(
      verifier.verify(bearer(await mint(rsa, { aud: 'https://other.example.com' }))),
    )
    expect(aud.code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect(aud.description).toContain('"aud"')
    const noAud = await rejection(verifier.verify(bearer(await mint(rsa, { aud: undefined }))))
    expect(noAud.code).toBe('ERR_TOKEN_CLAIM_INVALID')
  })

  it('compares the issuer exactly, with a custom issuer distinct from the discovery URL', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({
      issuer: 'https://custom-issuer.example.com/ws',
      discoveryUrl: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
    })
    const good = await mint(rsa, { iss: 'https://custom-issuer.example.com/ws' })
    await expect(verifier.verify(bearer(good))).resolves.toMatchObject({ sub: 'user-1' })
    const slash = await mint(rsa, { iss: 'https://custom-issuer.example.com/ws/' })
    expect((await rejection(verifier.verify(bearer(slash)))).code).toBe('ERR_TOKEN_CLAIM_INVALID')
  })

  it('refuses expired tokens, allowing the clock tolerance', async () => {
    const { verifier } = setup({ clockTolerance: 5 })
    const expired = await mint(rsa, { exp: now() - 10, iat: now() - 100 })
    const err = await rejection(verifier.verify(bearer(expired)))
    expect(err.code).toBe('ERR_TOKEN_EXPIRED')
    expect(err.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    )
    await expect(
      verifier.verify(bearer(await mint(rsa, { exp: now() - 2 }))),
    ).resolves.toBeDefined()
    const noExp = await rejection(verifier.verify(bearer(await mint(rsa, { exp: undefined }))))
    expect(noExp.code).toBe('ERR_TOKEN_CLAIM_INVALID')
  })

  it('refuses nbf and iat in the future', async () => {
    const { verifier } = setup()
    const nbf = await rejection(verifier.verify(bearer(await mint(rsa, { nbf: now() + 60 }))))
    expect(nbf.code).toBe('ERR_TOKEN_NOT_YET_VALID')
    const iat = await rejection(verifier.verify(bearer(await mint(rsa, { iat: now() + 60 }))))
    expect(iat.code).toBe('ERR_TOKEN_NOT_YET_VALID')
  })

  it('applies maxTokenAge', async () => {
    const { verifier } = setup({ maxTokenAge: 60 })
    const old = await rejection(verifier.verify(bearer(await mint(rsa, { iat: now() - 120 }))))
    expect(old.code).toBe('ERR_TOKEN_EXPIRED')
    const noIat = await rejection(verifier.verify(bearer(await mint(rsa, { iat: undefined }))))
    expect(noIat.code).toBe('ERR_TOKEN_EXPIRED')
  })

  it('refuses an unknown crit header', async () => {
    const { verifier } = setup()
    const token = signRaw(
      rsa,
      {
        alg: 'RS256',
        kid: 'rsa-1',
        typ: 'at+jwt',
        crit: ['urn:example:ext'],
        'urn:example:ext': 1,
      },
      { iss: ISSUER, aud: AUDIENCE, exp: now() + 60 },
    )
    expect((await rejection(verifier.verify(bearer(token)))).code).toBe('ERR_TOKEN_MALFORMED')
  })

  it('refuses malformed tokens', async () => {
    const { verifier } = setup()
    for (const token of ['abc', 'a.b', 'a.b.c.d.e', `${b64([1])}.${b64({})}.abc`, '!!!.x.y']) {
      const err = await rejection(verifier.verify(bearer(token)))
      expect(['ERR_TOKEN_MALFORMED', 'ERR_INVALID_REQUEST']).toContain(err.code)
    }
    const good = await mint(rsa)
    const [h, , s] = good.split('.')
    const badPayload = `${h}.${Buffer.from('not json').toString('base64url')}.${s}`
    // The payload is read first (its `iss` picks the issuer), so it is malformed before any key.
    expect((await rejection(verifier.verify(bearer(badPayload)))).code).toBe('ERR_TOKEN_MALFORMED')
  })

  it('refuses an oversized token before parsing it', async () => {
    const { verifier, as } = setup({ maxTokenLength: 1000 })
    const err = await rejection(verifier.verify(bearer(`${'a'.repeat(600)}.${'b'.repeat(600)}.c`)))
    expect(err.code).toBe('ERR_TOKEN_MALFORMED')
    expect(err.description).toBe('The access token is too large')
    expect(as.counts.discovery + as.counts.jwks).toBe(0)
  })

  it('never accepts an ID token as an access token', async () => {
    const { verifier } = setup()
    const idToken = await mint(rsa, { nonce: 'n-0S6_WzA2Mj', at_hash: 'x' }, { typ: 'JWT' })
    expect((await rejection(verifier.verify(bearer(idToken)))).code).toBe('ERR_TOKEN_TYPE')
    const noTyp = await mint(rsa, { nonce: 'abc' }, { typ: undefined })
    expect((await rejection(verifier.verify(bearer(noTyp)))).code).toBe('ERR_TOKEN_TYPE')
    // an ID token's aud is the client, not the API
    const forClient = await mint(rsa, { aud: 'client-1' }, { typ: 'JWT' })
    expect((await rejection(verifier.verify(bearer(forClient)))).code).toBe(
      'ERR_TOKEN_CLAIM_INVALID',
    )
  })

  it('refuses other JWT types (DPoP proofs, logout tokens)', async () => {
    const { verifier } = setup()
    for (const typ of ['dpop+jwt', 'logout+jwt', 'application/example+jwt']) {
      const err = await rejection(verifier.verify(bearer(await mint(rsa, {}, { typ }))))
      expect(err.code).toBe('ERR_TOKEN_TYPE')
    }
  })

  it('strict mode requires typ at+jwt and the RFC 9068 claims', async () => {
    const { verifier } = setup({ strict: true })
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
    await expect(
      verifier.verify(bearer(await mint(rsa, {}, { typ: 'application/at+jwt' }))),
    ).resolves.toBeDefined()
    expect(
      (await rejection(verifier.verify(bearer(await mint(rsa, {}, { typ: 'JWT' }))))).code,
    ).toBe('ERR_TOKEN_TYPE')
    for (const claim of ['sub', 'client_id', 'iat', 'jti']) {
      const err = await rejection(verifier.verify(bearer(await mint(rsa, { [claim]: undefined }))))
      expect(err.code).toBe('ERR_TOKEN_CLAIM_INVALID')
    }
  })

  it('outside strict mode accepts typ JWT and no typ', async () => {
    const { verifier } = setup()
    await expect(
      verifier.verify(bearer(await mint(rsa, {}, { typ: 'JWT' }))),
    ).resolves.toBeDefined()
    await expect(
      verifier.verify(bearer(await mint(rsa, {}, { typ: undefined }))),
    ).resolves.toBeDefined()
  })

  it('honours a restricted algorithm list', async () => {
    const { verifier } = setup({ algorithms: ['ES256'] })
    expect((await rejection(verifier.verify(bearer(await mint(rsa))))).code).toBe(
      'ERR_TOKEN_ALGORITHM',
    )
    await expect(verifier.verify(bearer(await mint(ec)))).resolves.toBeDefined()
  })

  it('refuses a token whose alg does not match its key', async () => {
    const { verifier } = setup()
    // ES256 header naming the RSA key's kid
    const token = await mint(ec, {}, { kid: 'rsa-1' })
    expect((await rejection(verifier.verify(bearer(token)))).code).toBe('ERR_TOKEN_KEY_NOT_FOUND')
  })

  it('verifies a token without kid against the keys for its alg', async () => {
    const { verifier } = setup()
    await expect(
      verifier.verify(bearer(await mint(ec, {}, { kid: undefined }))),
    ).resolves.toBeDefined()
  })
})

describe('createVerifier: verified-token cache', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('skips the signature for a known token but re-checks exp', async () => {
    const { verifier } = setup({ clockTolerance: 0 })
    const token = await mint(rsa, { exp: now() + 60 })
    const first = await verifier.verify(bearer(token))
    const second = await verifier.verify(bearer(token))
    expect(second).toBe(first)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    expect((await rejection(verifier.verify(bearer(token)))).code).toBe('ERR_TOKEN_EXPIRED')
  })

  it('ends cached verifications made with a key the JWKS dropped', async () => {
    const { verifier, as } = setup({ jwksCooldown: 0 })
    const token = await mint(rsa)
    await verifier.verify(bearer(token))
    as.keys = [ec.publicJwk]
    // an unknown kid triggers a refetch, which no longer lists rsa-1
    await rejection(verifier.verify(bearer(await mint(await makeKey('ES256', 'nope')))))
    expect((await rejection(verifier.verify(bearer(token)))).code).toBe('ERR_TOKEN_KEY_NOT_FOUND')
  })

  it('never serves a token from the cache by its signature alone', async () => {
    const { verifier } = setup()
    const token = await mint(rsa, { scope: 'read:messages' })
    await verifier.verify(bearer(token))
    const [header, , signature] = token.split('.')
    const payload = Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: now() + 300, scope: 'admin' }),
    ).toString('base64url')
    const forged = `${header}.${payload}.${signature}`
    const err = await rejection(verifier.verify(bearer(forged)))
    expect(err.code).toBe('ERR_TOKEN_SIGNATURE')
    // and the genuine token is still served
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({
      scopes: ['read:messages'],
    })
  })

  it('works without a cache (cacheMaxEntries: 0)', async () => {
    const { verifier, as } = setup({ cacheMaxEntries: 0 })
    const token = await mint(rsa)
    const first = await verifier.verify(bearer(token))
    const second = await verifier.verify(bearer(token))
    expect(second).not.toBe(first)
    expect(second.sub).toBe('user-1')
    expect(as.counts.jwks).toBe(1)
  })

  it('verifies one new token once when requests race', async () => {
    const { verifier, as } = setup()
    const token = await mint(rsa)
    const results = await Promise.all(
      Array.from({ length: 10 }, () => verifier.verify(bearer(token))),
    )
    expect(new Set(results).size).toBe(1)
    expect(as.counts.jwks).toBe(1)
  })
})
