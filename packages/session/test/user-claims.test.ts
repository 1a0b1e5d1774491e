import type { IdTokenClaims } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import { DEFAULT_IDENTITY_CLAIM_FILTER } from '../src/index.js'
import { userClaimsOf } from '../src/user-claims.js'

const claims: IdTokenClaims = Object.freeze({
  iss: 'https://as.example',
  sub: 'u1',
  aud: 'rp',
  exp: 2,
  iat: 1,
  nonce: 'n',
  acr: 'mfa',
  amr: ['pwd', 'otp'],
  auth_time: 1,
  sid: 's',
  at_hash: 'h',
  name: 'Ada',
  email: 'ada@example.com',
  email_verified: true,
  roles: ['admin'],
})

describe('userClaimsOf', () => {
  const filter = new Set(DEFAULT_IDENTITY_CLAIM_FILTER)

  it('drops the protocol claims and keeps sub, the standard and the custom claims', () => {
    expect(userClaimsOf(claims, filter)).toEqual({
      sub: 'u1',
      name: 'Ada',
      email: 'ada@example.com',
      email_verified: true,
      roles: ['admin'],
    })
  })

  it('never drops sub, even when the filter names it', () => {
    expect(userClaimsOf(claims, new Set(['sub', 'name'])).sub).toBe('u1')
  })

  it('returns one frozen copy per claim set and filter', () => {
    const first = userClaimsOf(claims, filter)
    expect(Object.isFrozen(first)).toBe(true)
    expect(userClaimsOf(claims, filter)).toBe(first)
    const other = new Set<string>()
    expect(userClaimsOf(claims, other)).not.toBe(first)
    expect(userClaimsOf(claims, other)).toEqual(claims)
  })

  it('keeps a "__proto__" claim a plain member', () => {
    const odd = JSON.parse('{"sub":"u1","__proto__":{"polluted":true}}') as IdTokenClaims
    const user = userClaimsOf(odd, filter)
    expect(Object.hasOwn(user, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(user)).toBe(Object.prototype)
  })
})
