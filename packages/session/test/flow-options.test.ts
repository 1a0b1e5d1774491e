import type { Client } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import {
  accessRule,
  createContext,
  decideAccess,
  loginParams,
  logoutParams,
  resolveOptions,
} from '../src/index.js'

const client = {
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'https://rp.example/callback',
  metadata: {},
} as unknown as Client

const config = (over: Record<string, unknown> = {}) =>
  resolveOptions({ client, secret: 's'.repeat(40), defaultReturnTo: '/home', ...over })

describe('loginParams', () => {
  it('keeps a same-origin returnTo, falls back to defaultReturnTo otherwise', () => {
    expect(loginParams(config(), { returnTo: '/a?b=1#c' })).toEqual({ returnTo: '/a?b=1#c' })
    for (const returnTo of ['//evil', 'https://evil/', '/\\evil', '']) {
      expect(loginParams(config(), { returnTo }).returnTo).toBe('/home')
    }
    expect(loginParams(config())).toEqual({ returnTo: '/home' })
  })

  it('passes authorizationParams on, frozen, and refuses non-strings and unknown options', () => {
    const params = loginParams(config(), { authorizationParams: { prompt: 'login' } })
    expect(params.authorizationParams).toEqual({ prompt: 'login' })
    expect(Object.isFrozen(params.authorizationParams)).toBe(true)
    expect(() =>
      loginParams(config(), { authorizationParams: { max_age: 1 as unknown as string } }),
    ).toThrow('login(): "authorizationParams" must be an object of strings')
    expect(() => loginParams(config(), { returnTO: '/' } as never)).toThrow(
      'login(): unknown option "returnTO"',
    )
  })
})

describe('logoutParams', () => {
  it('defaults to logoutReturnTo and the localLogout option', () => {
    expect(logoutParams(config({ logoutReturnTo: '/bye' }))).toEqual({
      returnTo: '/bye',
      localLogout: false,
    })
    expect(logoutParams(config({ localLogout: true })).localLogout).toBe(true)
    expect(logoutParams(config({ localLogout: true }), { localLogout: false }).localLogout).toBe(
      false,
    )
    expect(logoutParams(config(), { returnTo: '//evil' }).returnTo).toBe('/')
    expect(() => logoutParams(config(), { localLogout: 'yes' as never })).toThrow(
      'logout(): "localLogout" must be a boolean',
    )
  })
})

describe('decideAccess with the login route off', () => {
  it('starts the login itself (action login) for a page, 401 JSON otherwise', () => {
    const ctx = createContext(config({ routes: { login: false } }))
    const input = {
      user: undefined,
      router: { ctx, mountPath: '' },
      method: 'GET',
      url: '/profile',
      prefersJson: false,
    }
    expect(decideAccess(accessRule(), input)).toEqual({
      action: 'login',
      login: { returnTo: '/profile' },
    })
    expect(decideAccess(accessRule(), { ...input, prefersJson: true })).toMatchObject({
      action: 'reply',
      status: 401,
    })
  })
})
