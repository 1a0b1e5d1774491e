import { describe, expect, it } from 'vitest'
import { createMemoryLock } from '../src/lock.js'
import { resolveOptions } from '../src/options.js'
import { safeReturnTo } from '../src/return-to.js'
import {
  needsRefresh,
  pruneLogins,
  type StoredLogin,
  type StoredUser,
} from '../src/session-record.js'
import { createTokenCipher } from '../src/token-cipher.js'

const SECRET_A = 'a'.repeat(40)
const SECRET_B = 'b'.repeat(40)

describe('token cipher', () => {
  it('round-trips and never contains the plaintext', () => {
    const cipher = createTokenCipher([SECRET_A])
    const sealed = cipher.encrypt('{"refresh_token":"rt-123"}')
    expect(sealed).toMatch(/^v1\./)
    expect(sealed).not.toContain('rt-123')
    expect(cipher.decrypt(sealed)).toBe('{"refresh_token":"rt-123"}')
    expect(cipher.encrypt('x')).not.toBe(cipher.encrypt('x'))
  })

  it('decrypts with an old secret after rotation, and refuses unknown keys and tampering', () => {
    const old = createTokenCipher([SECRET_A])
    const sealed = old.encrypt('secret-value')
    const rotated = createTokenCipher([SECRET_B, SECRET_A])
    expect(rotated.decrypt(sealed)).toBe('secret-value')
    expect(rotated.encrypt('y').split('.')[1]).not.toBe(sealed.split('.')[1])
    expect(createTokenCipher([SECRET_B]).decrypt(sealed)).toBeUndefined()
    const parts = sealed.split('.')
    const ct = Buffer.from(parts[3]!, 'base64url')
    ct[0] = ct[0]! ^ 1
    parts[3] = ct.toString('base64url')
    expect(old.decrypt(parts.join('.'))).toBeUndefined()
    expect(old.decrypt('garbage')).toBeUndefined()
  })
})

describe('safeReturnTo', () => {
  it('accepts same-origin relative paths', () => {
    expect(safeReturnTo('/')).toBe('/')
    expect(safeReturnTo('/a/b?c=1#d')).toBe('/a/b?c=1#d')
    expect(safeReturnTo('/a/../b')).toBe('/b')
  })
  it.each([
    '//evil.example',
    '///evil.example',
    '//evil.example:443/x',
    '//127.0.0.1/x',
    '/\\evil.example',
    '\\\\evil',
    'https://evil.example/',
    'http:evil',
    'javascript:alert(1)',
    'evil',
    '',
    '/a\nb',
    '/a\tb',
    '/a\u0000',
    '/\u007f',
    42,
    undefined,
    ['/a'],
    '/' + 'a'.repeat(3000),
  ])('refuses %j', (value) => {
    expect(safeReturnTo(value)).toBeUndefined()
  })
})

describe('needsRefresh', () => {
  const user = (obt: number, exp?: number): StoredUser => ({
    claims: { iss: 'i', sub: 's', aud: 'a', exp: 0, iat: 0 },
    issuer: 'i',
    clientId: 'a',
    tokens: { access_token: 'at', token_type: 'Bearer' },
    tokenVersion: 1,
    tokensObtainedAt: obt,
    loggedInAt: obt,
    ...(exp !== undefined ? { accessTokenExpiresAt: exp } : {}),
  })
  it('refreshes within the margin before expiry', () => {
    expect(needsRefresh(user(0, 3600), 3539, 60)).toBe(false)
    expect(needsRefresh(user(0, 3600), 3540, 60)).toBe(true)
  })
  it('caps the margin at half the lifetime, so short tokens are not refreshed on every call', () => {
    expect(needsRefresh(user(0, 60), 10, 60)).toBe(false)
    expect(needsRefresh(user(0, 60), 29, 60)).toBe(false)
    expect(needsRefresh(user(0, 60), 30, 60)).toBe(true)
  })
  it('never refreshes when the expiry is unknown', () => {
    expect(needsRefresh(user(0), 1e10, 60)).toBe(false)
  })
})

describe('pruneLogins', () => {
  const tx = (state: string, created: number, expires: number): StoredLogin => ({
    issuer: 'https://as',
    clientId: 'c',
    transaction: {
      state,
      code_verifier: 'v',
      redirect_uri: 'https://rp/cb',
      response_mode: 'query',
      scope: 'openid',
      created_at: created,
      expires_at: expires,
    },
    returnTo: '/',
  })
  it('drops expired ones and keeps the newest up to the bound', () => {
    const all = { a: tx('a', 1, 50), b: tx('b', 2, 200), c: tx('c', 3, 200), d: tx('d', 4, 200) }
    expect(Object.keys(pruneLogins(all, 2, 100) ?? {}).sort()).toEqual(['c', 'd'])
    expect(pruneLogins({ a: tx('a', 1, 50) }, 10, 100)).toBeUndefined()
  })
})

describe('memory lock', () => {
  it('serializes holders of one key in FIFO order and leaves other keys free', async () => {
    const lock = createMemoryLock()
    const order: string[] = []
    const r1 = await lock.acquire('k')
    const p2 = lock.acquire('k').then(async (release) => {
      order.push('second')
      await release()
    })
    const p3 = lock.acquire('k').then(async (release) => {
      order.push('third')
      await release()
    })
    const other = await lock.acquire('other')
    order.push('other')
    await other()
    order.push('first-done')
    await r1()
    await Promise.all([p2, p3])
    expect(order).toEqual(['other', 'first-done', 'second', 'third'])
  })
})

describe('resolveOptions', () => {
  const client = {
    issuer: 'https://as',
    clientId: 'c',
    redirectUri: 'https://rp/callback',
    metadata: {},
  }
  it('names the bad option', () => {
    expect(() => resolveOptions({ client: client as never, secret: 'short' })).toThrow(/"secret"/)
    expect(() => resolveOptions({ client: {} as never, secret: SECRET_A })).toThrow(/"client"/)
    expect(() =>
      resolveOptions({ client: client as never, secret: SECRET_A, routes: { login: 'x' } }),
    ).toThrow(/"routes.login"/)
    expect(() =>
      resolveOptions({ client: client as never, secret: SECRET_A, refreshMargin: -1 }),
    ).toThrow(/"refreshMargin"/)
    expect(() =>
      resolveOptions({
        client: client as never,
        secret: SECRET_A,
        responseMode: 'fragment' as never,
      }),
    ).toThrow(/"responseMode"/)
    expect(() =>
      resolveOptions({ client: client as never, secret: SECRET_A, lock: {} as never }),
    ).toThrow(/"lock"/)
  })
  it('applies defaults and freezes', () => {
    const config = resolveOptions({ client: client as never, secret: [SECRET_A, SECRET_B] })
    expect(config.routes).toEqual({
      login: '/login',
      callback: '/callback',
      logout: '/logout',
      backchannelLogout: '/backchannel-logout',
    })
    expect(config.maxTransactions).toBe(10)
    expect(config.touchAfter).toBe(60)
    expect(config.refreshMargin).toBe(60)
    expect(config.absoluteDuration).toBe(604800)
    expect(Object.isFrozen(config)).toBe(true)
  })
})
