// Regression tests for defects found by the security review (one describe per defect).
import { describe, expect, it } from 'vitest'
import { safeReturnTo } from '../src/return-to.js'

describe('regression: open redirect through a normalised returnTo', () => {
  const payloads = [
    '/.//evil.com',
    '/..//evil.com',
    '/a/..//evil.com',
    '/a/b/../..//evil.com',
    '/%2e//evil.com',
    '/%2E//evil.com',
    '/%2e%2e//evil.com',
    '/a/%2e%2e//evil.com',
    '/./\\evil.com',
    '/.//evil.com/path?x=1#y',
    '/./%2f/evil.com',
  ]
  for (const payload of payloads) {
    it(`never returns a protocol-relative path for ${JSON.stringify(payload)}`, () => {
      const out = safeReturnTo(payload)
      if (out !== undefined) {
        expect(out[0]).toBe('/')
        expect(out[1]).not.toBe('/')
        expect(out[1]).not.toBe('\\')
        expect(out).not.toContain('\\')
        // Whatever comes out resolves to our own origin.
        expect(new URL(out, 'https://rp.example').origin).toBe('https://rp.example')
      }
    })
  }

  it('refuses the reviewer payloads outright', () => {
    for (const p of ['/.//evil.com', '/..//evil.com', '/a/..//evil.com', '/%2e//evil.com']) {
      expect(safeReturnTo(p)).toBeUndefined()
    }
  })

  it('still keeps ordinary paths (normalised)', () => {
    expect(safeReturnTo('/profile')).toBe('/profile')
    expect(safeReturnTo('/a/./b/../c?x=1#h')).toBe('/a/c?x=1#h')
    expect(safeReturnTo('/')).toBe('/')
  })
})
