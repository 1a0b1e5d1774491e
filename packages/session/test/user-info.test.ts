import type { IdTokenClaims } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import { keepUserInfoClaims, lacksScopeClaims } from '../src/user-info.js'

const idToken: IdTokenClaims = {
  iss: 'https://as.example',
  sub: 'user-1',
  aud: 'client-1',
  exp: 2_000_000_000,
  iat: 1_900_000_000,
  nonce: 'n-1',
  acr: 'urn:loa:1',
}

describe('lacksScopeClaims', () => {
  it('is true when a requested scope has none of its claims in the ID token', () => {
    expect(lacksScopeClaims('openid profile', idToken)).toBe(true)
    expect(lacksScopeClaims('openid email', { ...idToken, name: 'A' })).toBe(true)
  })

  it('is false when each requested scope has at least one of its claims', () => {
    expect(lacksScopeClaims('openid profile email', { ...idToken, name: 'A', email: 'a@x' })).toBe(
      false,
    )
    expect(lacksScopeClaims('openid offline_access read:messages', idToken)).toBe(false)
  })
})

describe('keepUserInfoClaims', () => {
  it('adds what the ID token lacks; the ID token wins on what both have', () => {
    const claims = keepUserInfoClaims(
      { ...idToken, name: 'From ID token' },
      { sub: 'user-1', name: 'From UserInfo', email: 'a@example.com', groups: ['g'] },
    )
    expect(claims).toMatchObject({ name: 'From ID token', email: 'a@example.com', groups: ['g'] })
  })

  it('never takes protocol or authentication claims from UserInfo', () => {
    const claims = keepUserInfoClaims(
      { iss: 'https://as.example', sub: 'user-1', aud: 'client-1', exp: 1, iat: 1 },
      {
        sub: 'user-1',
        acr: 'urn:loa:high',
        amr: ['hwk'],
        auth_time: 1,
        sid: 'other-session',
        nonce: 'x',
        azp: 'other',
      },
    )
    for (const name of ['acr', 'amr', 'auth_time', 'sid', 'nonce', 'azp']) {
      expect(Object.hasOwn(claims, name), name).toBe(false)
    }
  })

  it('keeps a "__proto__" member as a plain claim (no prototype change)', () => {
    const extra = JSON.parse('{"sub":"user-1","__proto__":{"isAdmin":true}}') as Record<
      string,
      unknown
    >
    const claims = keepUserInfoClaims(idToken, extra)
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype)
    expect((claims as { isAdmin?: unknown }).isAdmin).toBeUndefined()
    expect(Object.hasOwn(claims, '__proto__')).toBe(true)
  })
})
