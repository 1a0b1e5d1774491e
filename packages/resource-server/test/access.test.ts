import { beforeAll, describe, expect, it } from 'vitest'
import {
  checkAccess,
  createVerifier,
  ResourceServerError,
  type AuthInfo,
  type ClaimMatcher,
} from '../src/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from './helpers.js'

let rsa: SigningKey
let auth: AuthInfo
beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  const as = fakeAs([rsa.publicJwk])
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
  auth = await verifier.verify(
    bearer(
      await mint(rsa, {
        scope: 'read:messages profile',
        scp: ['write:messages'],
        acr: 'urn:acr:silver',
        auth_time: now() - 600,
        tenant: 'acme',
        roles: ['admin', 'user'],
      }),
    ),
  )
})

function failure(fn: () => void): ResourceServerError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ResourceServerError)
    return err as ResourceServerError
  }
  throw new Error('expected a failure')
}

describe('checkAccess', () => {
  it('reads scopes from scope (string) and scp (array)', () => {
    expect(auth.scopes).toEqual(['read:messages', 'profile', 'write:messages'])
    expect(() => checkAccess(auth, { scopes: ['read:messages', 'write:messages'] })).not.toThrow()
  })

  it('requires all scopes by default, with the scope attribute on failure', () => {
    const err = failure(() => checkAccess(auth, { scopes: ['read:messages', 'delete:messages'] }))
    expect(err.code).toBe('ERR_INSUFFICIENT_SCOPE')
    expect(err.status).toBe(403)
    expect(err.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_scope", scope="read:messages delete:messages"',
    )
  })

  it('accepts any one scope in any mode', () => {
    expect(() =>
      checkAccess(auth, { scopes: ['delete:messages', 'profile'], scopeMode: 'any' }),
    ).not.toThrow()
    expect(failure(() => checkAccess(auth, { scopes: ['a', 'b'], scopeMode: 'any' })).code).toBe(
      'ERR_INSUFFICIENT_SCOPE',
    )
  })

  it('checks claims by value, by array membership and by predicate', () => {
    expect(() =>
      checkAccess(auth, { claims: { tenant: 'acme', roles: 'admin', sub: (v) => v === 'user-1' } }),
    ).not.toThrow()
    const cases: Record<string, ClaimMatcher>[] = [
      { tenant: 'other' },
      { roles: 'root' },
      { sub: () => false },
      {
        sub: () => {
          throw new Error('boom')
        },
      },
    ]
    for (const claims of cases) {
      const err = failure(() => checkAccess(auth, { claims }))
      expect(err.code).toBe('ERR_CLAIM_CHECK_FAILED')
      expect(err.status).toBe(403)
    }
  })

  it('asks for step-up authentication (RFC 9470)', () => {
    expect(() =>
      checkAccess(auth, { acrValues: ['urn:acr:silver'], maxAuthAge: 900 }),
    ).not.toThrow()
    const acr = failure(() => checkAccess(auth, { acrValues: ['urn:acr:gold'] }))
    expect(acr.code).toBe('ERR_INSUFFICIENT_USER_AUTHENTICATION')
    expect(acr.status).toBe(401)
    expect(acr.headers['www-authenticate']).toContain('error="insufficient_user_authentication"')
    expect(acr.headers['www-authenticate']).toContain('acr_values="urn:acr:gold"')
    const age = failure(() => checkAccess(auth, { maxAuthAge: 300 }))
    expect(age.headers['www-authenticate']).toContain('max_age="300"')
  })

  it('applies verifier-level requirements to every request', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
      scopes: 'admin',
    })
    const token = await mint(rsa)
    for (let i = 0; i < 2; i++) {
      // the second time from the verified-token cache: requirements are still enforced
      const err = await verifier.verify(bearer(token)).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_INSUFFICIENT_SCOPE', status: 403 })
    }
    await expect(
      verifier.verify(bearer(await mint(rsa, { scope: 'admin' }))),
    ).resolves.toBeDefined()
  })
})
