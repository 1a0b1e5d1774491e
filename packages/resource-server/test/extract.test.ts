import { describe, expect, it } from 'vitest'
import { extractToken } from '../src/extract.js'
import { resolveOptions, type VerifierOptions } from '../src/options.js'
import { ResourceServerError } from '../src/errors.js'
import { AUDIENCE, fakeAs, ISSUER } from './helpers.js'
import { createVerifier } from '../src/index.js'

const options = (extra: Partial<VerifierOptions> = {}) =>
  resolveOptions({ issuer: ISSUER, audience: AUDIENCE, ...extra })

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ResourceServerError)
    return (err as ResourceServerError).code
  }
  return undefined
}

describe('extractToken', () => {
  it('reads Bearer and DPoP in any case', () => {
    expect(extractToken({ headers: { authorization: 'Bearer abc' } }, options())).toEqual({
      token: 'abc',
      scheme: 'Bearer',
    })
    expect(extractToken({ headers: { authorization: 'BEARER abc' } }, options()).token).toBe('abc')
    expect(extractToken({ headers: { authorization: 'dpop abc' } }, options())).toEqual({
      token: 'abc',
      scheme: 'DPoP',
    })
  })

  it('treats no token, and other schemes, as missing', () => {
    expect(code(() => extractToken({ headers: {} }, options()))).toBe('ERR_TOKEN_MISSING')
    expect(code(() => extractToken({ headers: { authorization: 'Basic YTpi' } }, options()))).toBe(
      'ERR_TOKEN_MISSING',
    )
  })

  it('refuses an empty token', () => {
    for (const authorization of ['Bearer ', 'Bearer', 'bearer', 'DPoP', 'Bearer    '])
      expect(code(() => extractToken({ headers: { authorization } }, options()))).toBe(
        'ERR_INVALID_REQUEST',
      )
  })

  it('the verifier refuses tokens outside the b64token syntax before any fetch', async () => {
    const as = fakeAs([])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    for (const authorization of ['Bearer a b', 'Bearer a"b', 'Bearer a,b', 'Bearer a.b.c?']) {
      const err = await verifier.verify({ headers: { authorization } }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ResourceServerError)
      expect((err as ResourceServerError).code).toBe('ERR_INVALID_REQUEST')
      expect((err as ResourceServerError).status).toBe(400)
    }
    expect(as.requests).toHaveLength(0)
  })

  it('applies the size limit before anything else', () => {
    const huge = `Bearer ${'a'.repeat(100_000)}`
    expect(code(() => extractToken({ headers: { authorization: huge } }, options()))).toBe(
      'ERR_TOKEN_MALFORMED',
    )
  })

  it('ignores body and query tokens unless allowed', () => {
    const req = {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      method: 'POST',
      body: { access_token: 'abc' },
      query: { access_token: 'def' },
    }
    expect(code(() => extractToken(req, options()))).toBe('ERR_TOKEN_MISSING')
    expect(extractToken(req, options({ allowBodyToken: true })).token).toBe('abc')
    expect(
      extractToken({ ...req, body: undefined }, options({ allowQueryToken: true })).token,
    ).toBe('def')
    expect(
      extractToken(
        { headers: {}, query: new URLSearchParams('access_token=xyz') },
        options({ allowQueryToken: true }),
      ).token,
    ).toBe('xyz')
  })

  it('refuses a token sent by more than one method', () => {
    const both = {
      headers: {
        authorization: 'Bearer abc',
        'content-type': 'application/x-www-form-urlencoded',
      },
      method: 'POST',
      body: { access_token: 'abc' },
    }
    expect(code(() => extractToken(both, options({ allowBodyToken: true })))).toBe(
      'ERR_INVALID_REQUEST',
    )
    const query = { headers: { authorization: 'Bearer abc' }, query: { access_token: 'abc' } }
    expect(code(() => extractToken(query, options({ allowQueryToken: true })))).toBe(
      'ERR_INVALID_REQUEST',
    )
    const twice = { headers: {}, query: new URLSearchParams('access_token=a&access_token=b') }
    expect(code(() => extractToken(twice, options({ allowQueryToken: true })))).toBe(
      'ERR_INVALID_REQUEST',
    )
  })

  it('takes body tokens only from form-encoded requests with a body', () => {
    const get = {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      method: 'GET',
      body: { access_token: 'abc' },
    }
    expect(code(() => extractToken(get, options({ allowBodyToken: true })))).toBe(
      'ERR_INVALID_REQUEST',
    )
    const json = { ...get, method: 'POST', headers: { 'content-type': 'application/json' } }
    expect(code(() => extractToken(json, options({ allowBodyToken: true })))).toBe(
      'ERR_INVALID_REQUEST',
    )
  })
})

describe('resolveOptions', () => {
  it('names the bad option in a TypeError', () => {
    const cases: [Partial<VerifierOptions>, string][] = [
      [{ issuer: '' }, '"issuer" must be a non-empty string'],
      [{ audience: [] }, '"audience" must be a non-empty string array'],
      [{ algorithms: ['none'] }, '"algorithms" has an unsupported algorithm "none"'],
      [{ algorithms: ['HS256'] }, '"algorithms" names HS256, which needs "secret"'],
      [{ secret: 'short' }, '"secret" must be at least 32 bytes'],
      [
        { issuer: 'http://as.example.com' },
        '"issuer" must be an https: URL (http: is allowed only for loopback hosts)',
      ],
      [
        { jwksUri: 'http://as.example.com/jwks' },
        '"jwksUri" must be an https: URL (http: is allowed only for loopback hosts)',
      ],
      [{ clockTolerance: -1 }, '"clockTolerance" must be a number >= 0'],
      [
        { introspection: { clientId: 'rs' } },
        '"introspection.clientSecret" is required for client_secret_basic',
      ],
    ]
    for (const [extra, message] of cases)
      expect(() => options(extra)).toThrow(new TypeError(message))
  })

  it('accepts http issuers on loopback only', () => {
    expect(() => options({ issuer: 'http://127.0.0.1:3000' })).not.toThrow()
    expect(() => options({ issuer: 'http://localhost:3000' })).not.toThrow()
  })
})
