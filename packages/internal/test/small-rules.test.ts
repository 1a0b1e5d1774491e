import { describe, expect, it } from 'vitest'
import { isSafeErrorCode } from '../src/error-code.js'
import { tokenScheme } from '../src/token-type.js'

describe('tokenScheme', () => {
  it('maps Bearer and DPoP in any case to their scheme', () => {
    expect(tokenScheme('bearer')).toBe('Bearer')
    expect(tokenScheme('BEARER')).toBe('Bearer')
    expect(tokenScheme('Bearer')).toBe('Bearer')
    expect(tokenScheme('dpop')).toBe('DPoP')
    expect(tokenScheme('DPoP')).toBe('DPoP')
  })
  it('refuses every other token_type', () => {
    for (const value of ['mac', 'N_A', '', ' bearer', 'bearer ', undefined, null, 1, {}]) {
      expect(tokenScheme(value), String(value)).toBeUndefined()
    }
  })
})

describe('isSafeErrorCode', () => {
  it('accepts OAuth error codes, URNs and dotted codes up to 64 characters', () => {
    for (const code of ['invalid_grant', 'use_dpop_nonce', 'urn:x:err', 'a.b-c', 'x'.repeat(64)]) {
      expect(isSafeErrorCode(code), code).toBe(true)
    }
  })
  it('refuses what could carry markup, a token or a forged log line', () => {
    for (const code of ['', 'x'.repeat(65), 'a b', 'a"b', '<script>', 'a\nb', 'é', undefined, 7]) {
      expect(isSafeErrorCode(code), String(code)).toBe(false)
    }
  })
})
