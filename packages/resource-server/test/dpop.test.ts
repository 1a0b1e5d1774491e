import { createHash, randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { createVerifier, ResourceServerError, type VerifierOptions } from '../src/index.js'
import { jwkThumbprint, ReplayCache } from '../src/dpop.js'
import { AUDIENCE, ath, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from './helpers.js'

let rsa: SigningKey
let client: { privateKey: CryptoKey; jwk: JWK; jkt: string }
let intruder: { privateKey: CryptoKey; jwk: JWK }
const URL_ = 'https://api.example.com/api/private'

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  const pair = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(pair.publicKey)
  client = { privateKey: pair.privateKey, jwk, jkt: jwkThumbprint(jwk as Record<string, unknown>) }
  const other = await generateKeyPair('ES256', { extractable: true })
  intruder = { privateKey: other.privateKey, jwk: await exportJWK(other.publicKey) }
})

function proof(
  token: string,
  claims: Record<string, unknown> = {},
  key: { privateKey: CryptoKey; jwk: JWK } = client,
  header: Record<string, unknown> = {},
) {
  return new SignJWT({
    jti: randomUUID(),
    htm: 'GET',
    htu: URL_,
    iat: now(),
    ath: ath(token),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, ...header })
    .sign(key.privateKey)
}

function setup(options: Partial<VerifierOptions> = {}) {
  const as = fakeAs([rsa.publicJwk])
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch, ...options })
}

const request = (token: string, dpop: string | undefined, url = URL_, scheme = 'DPoP') => ({
  headers: { authorization: `${scheme} ${token}`, ...(dpop === undefined ? {} : { dpop }) },
  method: 'GET',
  url,
})

async function failure(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

describe('DPoP (RFC 9449)', () => {
  it('accepts a bound token with a valid proof', async () => {
    const verifier = setup()
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const auth = await verifier.verify(request(token, await proof(token)))
    expect(auth.tokenType).toBe('DPoP')
    // a cached token still needs a fresh proof on every request
    await expect(verifier.verify(request(token, await proof(token)))).resolves.toBe(auth)
  })

  it('refuses a DPoP-bound token sent with the Bearer scheme', async () => {
    const verifier = setup()
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const err = await failure(verifier.verify(request(token, await proof(token), URL_, 'Bearer')))
    expect(err.code).toBe('ERR_TOKEN_BINDING')
    expect(err.status).toBe(401)
  })

  it('refuses an unbound token sent with the DPoP scheme', async () => {
    const verifier = setup()
    const token = await mint(rsa)
    const err = await failure(verifier.verify(request(token, await proof(token))))
    expect(err.code).toBe('ERR_TOKEN_BINDING')
    expect(err.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/)
    expect(err.headers['www-authenticate']).toContain('algs="')
  })

  it('refuses a missing, replayed, wrong or foreign proof', async () => {
    const verifier = setup()
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const missing = await failure(verifier.verify(request(token, undefined)))
    expect(missing.code).toBe('ERR_DPOP_PROOF_INVALID')
    expect(missing.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof"/)

    const once = await proof(token)
    await verifier.verify(request(token, once))
    expect((await failure(verifier.verify(request(token, once)))).description).toBe(
      'The DPoP proof was already used',
    )

    const cases: [string, Promise<string>, string?][] = [
      ['htu', proof(token, { htu: 'https://api.example.com/other' })],
      ['other host', proof(token, { htu: 'https://evil.example.com/api/private' })],
      ['htm', proof(token, { htm: 'POST' })],
      ['iat old', proof(token, { iat: now() - 3600 })],
      ['iat future', proof(token, { iat: now() + 3600 })],
      ['ath', proof(token, { ath: createHash('sha256').update('other').digest('base64url') })],
      ['no ath', proof(token, { ath: undefined })],
      ['typ', proof(token, {}, client, { typ: 'JWT' })],
    ]
    for (const [name, made] of cases) {
      const err = await failure(verifier.verify(request(token, await made)))
      expect(err.code, name).toBe('ERR_DPOP_PROOF_INVALID')
    }
    // a proof by another key: the binding fails
    const foreign = await failure(verifier.verify(request(token, await proof(token, {}, intruder))))
    expect(foreign.code).toBe('ERR_TOKEN_BINDING')
    // a proof whose signature does not match its embedded key
    const forged = await proof(token, {}, { privateKey: intruder.privateKey, jwk: client.jwk })
    expect((await failure(verifier.verify(request(token, forged)))).code).toBe(
      'ERR_DPOP_PROOF_INVALID',
    )
  })

  it('ignores the query string of htu', async () => {
    const verifier = setup()
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    await expect(
      verifier.verify(request(token, await proof(token), `${URL_}?page=2`)),
    ).resolves.toBeDefined()
  })

  it('asks for a server nonce, then accepts it', async () => {
    const verifier = setup({ dpop: { nonceSecret: 'n'.repeat(32) } })
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const err = await failure(verifier.verify(request(token, await proof(token))))
    expect(err.code).toBe('ERR_DPOP_NONCE_REQUIRED')
    expect(err.headers['www-authenticate']).toMatch(/^DPoP error="use_dpop_nonce"/)
    const nonce = err.headers['dpop-nonce']!
    expect(nonce).toMatch(/^[\w-]{20,}$/)
    await expect(
      verifier.verify(request(token, await proof(token, { nonce }))),
    ).resolves.toBeDefined()
    expect(
      (await failure(verifier.verify(request(token, await proof(token, { nonce: 'stale' }))))).code,
    ).toBe('ERR_DPOP_NONCE_REQUIRED')
  })

  it('with dpop.required, refuses bearer tokens', async () => {
    const verifier = setup({ dpop: { required: true } })
    const token = await mint(rsa)
    const err = await failure(verifier.verify(request(token, undefined, URL_, 'Bearer')))
    expect(err.code).toBe('ERR_TOKEN_BINDING')
    const missing = await failure(verifier.verify({ headers: {} }))
    expect(missing.headers['www-authenticate']).toMatch(/^DPoP realm="api", algs="/)
  })
})

describe('ReplayCache', () => {
  it('remembers a jti for the window', () => {
    const cache = new ReplayCache(60_000, 3, 3)
    expect(cache.add('k', 'a', now())).toBe('ok')
    expect(cache.add('k', 'a', now())).toBe('replayed')
    expect(cache.add('k', 'b', now())).toBe('ok')
    expect(cache.add('k', 'b', now())).toBe('replayed')
  })

  it('never holds more than its bound', () => {
    const cache = new ReplayCache(60_000, 10, 10)
    for (let i = 0; i < 100; i++) {
      expect(['ok', 'full']).toContain(cache.add(`key-${i % 7}`, `j${i}`, now()))
      expect(cache.size).toBeLessThanOrEqual(10)
    }
  })

  it('when one key reaches its share, drops that key only and refuses its older proofs', () => {
    vi.useFakeTimers({ now: 1_000_000_000_000 })
    try {
      const cache = new ReplayCache(310_000, 100, 3, 5)
      const t = now()
      expect(cache.add('honest', 'h1', t)).toBe('ok')
      for (const jti of ['a1', 'a2', 'a3']) expect(cache.add('flood', jti, t)).toBe('ok')
      // The share is full: its entries go, and a proof issued before that moment could be one
      // of them, so it is refused (fail closed) rather than accepted as new.
      expect(cache.add('flood', 'a4', t)).toBe('ok')
      expect(cache.add('flood', 'a1', t)).toBe('full')
      // Another client's entries were kept: its replay is still caught, its new proofs served.
      expect(cache.add('honest', 'h1', t)).toBe('replayed')
      expect(cache.add('honest', 'h2', t)).toBe('ok')
      // The flooding key's fresh proofs (issued after the eviction and the clock tolerance) pass.
      vi.advanceTimersByTime(6_000)
      expect(cache.add('flood', 'a5', now())).toBe('ok')
      expect(cache.add('flood', 'a5', now())).toBe('replayed')
    } finally {
      vi.useRealTimers()
    }
  })

  it('when full, evicts the key with the most entries first, so honest clients stay served', () => {
    vi.useFakeTimers({ now: 1_000_000_000_000 })
    try {
      // 20 flooding keys could fill a cache whose per-key share is 1/20 of it (issue 13.4).
      const cache = new ReplayCache(310_000, 1000, 100, 5)
      const t = now()
      for (let c = 0; c < 5; c++) expect(cache.add(`client-${c}`, 'first', t)).toBe('ok')
      for (let k = 0; k < 20; k++)
        for (let i = 0; i < 100; i++) cache.add(`attacker-${k}`, `j${i}`, t)
      expect(cache.size).toBeLessThanOrEqual(1000)
      for (let c = 0; c < 5; c++) {
        expect(cache.add(`client-${c}`, 'first', t)).toBe('replayed')
        expect(cache.add(`client-${c}`, 'second', t)).toBe('ok')
      }
    } finally {
      vi.useRealTimers()
    }
  })

  it('forgets the previous window after two windows', () => {
    vi.useFakeTimers()
    try {
      const cache = new ReplayCache(1_000, 10, 10)
      expect(cache.add('k', 'a', now())).toBe('ok')
      vi.advanceTimersByTime(1_000)
      expect(cache.add('k', 'a', now())).toBe('replayed')
      vi.advanceTimersByTime(2_000)
      expect(cache.add('k', 'a', now())).toBe('ok')
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('DPoP replay cache options', () => {
  it('sizes the per-key share from the proof window and validates the bounds', () => {
    expect(() => setup({ dpop: { replayCacheMaxEntries: 0 } })).toThrow(
      '"dpop.replayCacheMaxEntries"',
    )
    expect(() =>
      setup({ dpop: { replayCacheMaxEntries: 10, replayCacheMaxEntriesPerKey: 11 } }),
    ).toThrow('"dpop.replayCacheMaxEntriesPerKey"')
    expect(() => setup({ dpop: { replayCacheMaxEntriesPerKey: 1.5 } })).toThrow(
      '"dpop.replayCacheMaxEntriesPerKey"',
    )
  })

  it('a flooding key cannot lock another client out of a small cache', async () => {
    const verifier = setup({ dpop: { replayCacheMaxEntries: 4, replayCacheMaxEntriesPerKey: 2 } })
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const other = await generateKeyPair('ES256', { extractable: true })
    const otherJwk = await exportJWK(other.publicKey)
    const otherKey = { privateKey: other.privateKey, jwk: otherJwk }
    const otherToken = await mint(rsa, {
      cnf: { jkt: jwkThumbprint(otherJwk as Record<string, unknown>) },
    })
    const honest = await proof(otherToken, {}, otherKey)
    await verifier.verify(request(otherToken, honest))
    // Its proofs are refused once its share overflowed ("cannot be accepted now"), never a 500.
    const refused = []
    for (let i = 0; i < 10; i++)
      await verifier
        .verify(request(token, await proof(token, { iat: now() - 60 })))
        .catch((err: unknown) => refused.push(err))
    expect(refused.length).toBeGreaterThan(0)
    // The honest client's proof is still remembered (replay refused) and its new proofs pass.
    const replay = await failure(verifier.verify(request(otherToken, honest)))
    expect(replay.description).toBe('The DPoP proof was already used')
    await expect(
      verifier.verify(request(otherToken, await proof(otherToken, {}, otherKey))),
    ).resolves.toBeDefined()
  })
})
