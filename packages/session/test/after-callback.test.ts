import type { IdTokenClaims, TokenSet } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import { runAfterCallback, withAppClaims } from '../src/after-callback.js'
import { AuthError } from '../src/errors.js'

const claims: IdTokenClaims = { iss: 'https://as.example', sub: 'u1', aud: 'rp', exp: 2, iat: 1 }
const tokens: TokenSet = { access_token: 'at', token_type: 'Bearer' } as TokenSet
const input = { claims, tokens, userInfo: undefined }

describe('runAfterCallback', () => {
  it('returns nothing for a hook that returns nothing, a JSON copy otherwise', async () => {
    expect(await runAfterCallback(() => undefined, input)).toBeUndefined()
    const when = new Date(0)
    expect(await runAfterCallback(async () => ({ roles: ['a'], when }), input)).toEqual({
      roles: ['a'],
      when: '1970-01-01T00:00:00.000Z',
    })
  })

  it('turns a throw into ERR_LOGIN_REFUSED (403) without its message, kept as cause', async () => {
    const thrown = new Error('secret detail')
    const err = await runAfterCallback(() => {
      throw thrown
    }, input).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'ERR_LOGIN_REFUSED', status: 403, cause: thrown })
    expect((err as Error).message).not.toContain('secret')
  })

  it('refuses protocol claims, non-objects, non-JSON and oversized claims (ERR_CONFIG_INVALID)', async () => {
    for (const returned of [
      { iss: 'x' },
      { sid: 'x' },
      'x',
      [1],
      new Map(),
      { n: 1n },
      { s: 'x'.repeat(17_000) },
    ]) {
      await expect(
        runAfterCallback(() => returned as Record<string, unknown>, input),
      ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID', status: 500 })
    }
  })
})

describe('withAppClaims', () => {
  it('sets the app claims over the claims, never a protocol claim, __proto__ as a plain member', () => {
    const app = JSON.parse('{"name":"Ada","aud":"evil","__proto__":{"x":1}}') as Record<
      string,
      unknown
    >
    const out = withAppClaims({ ...claims, name: 'A' }, app)
    expect(out.name).toBe('Ada')
    expect(out.aud).toBe('rp')
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(withAppClaims(claims, undefined)).toBe(claims)
  })
})
