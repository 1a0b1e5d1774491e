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
  it('remembers a jti for the window and refuses new ones past its bound', () => {
    const cache = new ReplayCache(60_000, 3, 3)
    expect(cache.add('k', 'a')).toBe('ok')
    expect(cache.add('k', 'a')).toBe('replayed')
    expect(cache.add('k', 'b')).toBe('ok')
    expect(cache.add('k', 'c')).toBe('ok')
    expect(cache.add('k', 'd')).toBe('full')
    expect(cache.add('k', 'b')).toBe('replayed')
  })

  it('bounds the proofs of one key, so one client cannot lock the others out', () => {
    const cache = new ReplayCache(60_000, 100, 2)
    expect(cache.add('attacker', 'j1')).toBe('ok')
    expect(cache.add('attacker', 'j2')).toBe('ok')
    expect(cache.add('attacker', 'j3')).toBe('full')
    expect(cache.add('other-client', 'j1')).toBe('ok')
    expect(cache.add('attacker', 'j1')).toBe('replayed')
  })

  it('forgets the previous window after two windows', () => {
    vi.useFakeTimers()
    try {
      const cache = new ReplayCache(1_000, 10, 10)
      expect(cache.add('k', 'a')).toBe('ok')
      vi.advanceTimersByTime(1_000)
      expect(cache.add('k', 'a')).toBe('replayed')
      vi.advanceTimersByTime(2_000)
      expect(cache.add('k', 'a')).toBe('ok')
    } finally {
      vi.useRealTimers()
    }
  })
})
