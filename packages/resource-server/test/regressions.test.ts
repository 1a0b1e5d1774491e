// Named regression tests: issue 13.5 (strict typ, 9 KB JWTs) and the resource-server mutants of
// issue 15, each failing with the bug in place.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, type JWK } from 'jose'
import { paramsForKey } from '../src/algorithms.js'
import { extractToken } from '../src/extract.js'
import { createVerifier, ResourceServerError, type VerifierOptions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import {
  AUDIENCE,
  b64,
  bearer,
  fakeAs,
  ISSUER,
  makeKey,
  mint,
  now,
  type SigningKey,
} from './helpers.js'

let rsa: SigningKey
beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
})

function setup(options: Partial<VerifierOptions> = {}, keys: JWK[] = [rsa.publicJwk]) {
  const as = fakeAs(keys)
  return {
    as,
    verifier: createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch, ...options }),
  }
}

async function refusal(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

describe('issue 13.5: strict typ (RFC 9068 §4)', () => {
  it('strictType accepts only at+jwt and application/at+jwt, without the other strict checks', async () => {
    const { verifier } = setup({ strictType: true })
    for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT'])
      await expect(
        verifier.verify(bearer(await mint(rsa, { jti: undefined }, { typ }))),
      ).resolves.toBeDefined()
    for (const typ of ['JWT', 'jwt', undefined, 'application/jwt', 'dpop+jwt']) {
      const err = await refusal(verifier.verify(bearer(await mint(rsa, {}, { typ }))))
      expect(err.code).toBe('ERR_TOKEN_TYPE')
    }
  })

  it('strict implies strictType; without either, JWT and no typ pass', async () => {
    const strict = setup({ strict: true }).verifier
    expect((await refusal(strict.verify(bearer(await mint(rsa, {}, { typ: 'JWT' }))))).code).toBe(
      'ERR_TOKEN_TYPE',
    )
    const lenient = setup().verifier
    await expect(lenient.verify(bearer(await mint(rsa, {}, { typ: 'JWT' })))).resolves.toBeDefined()
    await expect(
      lenient.verify(bearer(await mint(rsa, {}, { typ: undefined }))),
    ).resolves.toBeDefined()
    expect(() => setup({ strictType: 'yes' as never })).toThrow('"strictType"')
  })

  it('a valid 9 KB JWT passes by default; the length stays bounded', async () => {
    const { verifier } = setup()
    const big = await mint(rsa, { groups: Array.from({ length: 600 }, (_, i) => `group-${i}`) })
    expect(big.length).toBeGreaterThan(9 * 1024)
    await expect(verifier.verify(bearer(big))).resolves.toBeDefined()
    expect(resolveOptions({ issuer: ISSUER, audience: AUDIENCE }).maxTokenLength).toBe(16_384)
    const huge = 'a'.repeat(16_385)
    const err = await refusal(verifier.verify(bearer(huge)))
    expect(err.description).toBe('The access token is too large')
  })
})

describe('issue 15: resource-server mutants', () => {
  it('introspection: active "true" (a string) is not active', async () => {
    for (const active of ['true', 1, 'yes', null]) {
      const { as, verifier } = setup({ introspection: { clientId: 'rs', clientSecret: 'secret' } })
      as.introspect = () => ({
        active,
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        exp: now() + 300,
      })
      const err = await refusal(verifier.verify(bearer('opaque-token-1')))
      expect(err.code).toBe('ERR_TOKEN_INACTIVE')
    }
  })

  it('extract: the error for a malformed access_token never contains its value', () => {
    const options = resolveOptions({
      issuer: ISSUER,
      audience: AUDIENCE,
      allowQueryToken: true,
      allowBodyToken: true,
    })
    const secretish = 'SECRET-VALUE with spaces"and quotes'
    const requests = [
      { headers: {}, query: { access_token: secretish } },
      { headers: {}, query: { access_token: [secretish, 'x'] } },
      {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        method: 'POST',
        body: { access_token: secretish },
      },
    ]
    for (const request of requests) {
      let err: unknown
      try {
        extractToken(request, options)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ResourceServerError)
      const e = err as ResourceServerError
      expect(e.code).toBe('ERR_INVALID_REQUEST')
      for (const text of [e.message, e.description, JSON.stringify(e.headers)])
        expect(text).not.toContain('SECRET-VALUE')
    }
  })

  it('algorithms: RSA keys under 2048 bits get no algorithm; 2048 bits do', () => {
    const rsaKey = (bits: number): KeyObject =>
      generateKeyPairSync('rsa', { modulusLength: bits }).publicKey
    for (const bits of [1024, 1536, 2040]) expect(paramsForKey(rsaKey(bits)).size).toBe(0)
    expect([...paramsForKey(rsaKey(2048)).keys()]).toContain('RS256')
    const pss = (bits: number) => generateKeyPairSync('rsa-pss', { modulusLength: bits }).publicKey
    expect(paramsForKey(pss(1024)).size).toBe(0)
    expect([...paramsForKey(pss(2048)).keys()]).toContain('PS256')
  })

  it('a token signed by a published 1024-bit RSA key is refused', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const weakJwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak', alg: 'RS256' }
    const { verifier } = setup({}, [rsa.publicJwk, weakJwk])
    // jose refuses to sign with it; node:crypto does not.
    const input = `${b64({ alg: 'RS256', kid: 'weak', typ: 'at+jwt' })}.${b64({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      exp: now() + 300,
    })}`
    const token = `${input}.${sign('sha256', Buffer.from(input), weak.privateKey).toString('base64url')}`
    const err = await refusal(verifier.verify(bearer(token)))
    expect(err.code).toBe('ERR_TOKEN_KEY_NOT_FOUND')
  })
})
