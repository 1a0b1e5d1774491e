import { randomBytes } from 'node:crypto'
import type { Client } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import {
  createContext,
  gateRequest,
  isOwnRoute,
  isPageNavigation,
  resolveOptions,
  type GateInput,
  type VaultSession,
} from '../src/index.js'
import { JsonMemoryStore } from './support/memory-store.js'

const client = {
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'https://rp.example/callback',
  metadata: {},
} as unknown as Client

const options = (over: Record<string, unknown> = {}) =>
  resolveOptions({
    client,
    secret: 's'.repeat(40),
    sessionKey: `k${randomBytes(4).toString('hex')}`,
    ...over,
  })

const anonymous = (): VaultSession => ({
  id: 'sid',
  data: { cookie: {} },
  store: new JsonMemoryStore(),
  save: async () => {},
  regenerate: async () => {},
  destroy: async () => {},
  expireIn() {},
})

const input = (over: Partial<GateInput> = {}): GateInput => ({
  path: '/orders',
  mountPath: '',
  method: 'GET',
  url: '/orders?page=2',
  prefersJson: false,
  pageNavigation: false,
  ...over,
})

describe('isOwnRoute', () => {
  it('matches the routes as a router does (case, one trailing slash), not the ones turned off', () => {
    const routes = options({ routes: { logout: false, backchannelLogout: false } }).routes
    for (const path of ['/login', '/LOGIN', '/login/', '/callback']) {
      expect(isOwnRoute(routes, path)).toBe(true)
    }
    for (const path of ['/logout', '/backchannel-logout', '/login/x', '/', '/loginx']) {
      expect(isOwnRoute(routes, path)).toBe(false)
    }
  })
})

describe('gateRequest', () => {
  it('lets everything through without authRequired', () => {
    const ctx = createContext(options())
    expect(gateRequest(ctx, anonymous(), input())).toEqual({ action: 'next' })
  })

  it('with authRequired, sends a page to log in, answers JSON 401, spares own routes', () => {
    const ctx = createContext(options({ authRequired: true }))
    expect(gateRequest(ctx, anonymous(), input({ mountPath: '/app' }))).toEqual({
      action: 'redirect',
      redirectTo: '/app/login?returnTo=%2Forders%3Fpage%3D2',
    })
    expect(gateRequest(ctx, anonymous(), input({ prefersJson: true }))).toMatchObject({
      action: 'reply',
      status: 401,
    })
    expect(gateRequest(ctx, anonymous(), input({ path: '/callback' }))).toEqual({ action: 'next' })
  })
})

describe('isPageNavigation', () => {
  const none = {
    accept: undefined,
    secFetchMode: undefined,
    secFetchDest: undefined,
    xRequestedWith: undefined,
  }
  it('is a GET document navigation, or a GET naming text/html without Sec-Fetch headers', () => {
    expect(
      isPageNavigation('GET', { ...none, secFetchMode: 'navigate', secFetchDest: 'document' }),
    ).toBe(true)
    expect(isPageNavigation('GET', { ...none, accept: 'text/html,*/*;q=0.8' })).toBe(true)
  })
  it('is not a frame, a fetch(), an image, an XHR, a POST, or a favicon', () => {
    const html = 'text/html'
    expect(
      isPageNavigation('GET', { ...none, secFetchMode: 'navigate', secFetchDest: 'iframe' }),
    ).toBe(false)
    expect(isPageNavigation('GET', { ...none, secFetchMode: 'cors', accept: html })).toBe(false)
    expect(isPageNavigation('GET', { ...none, accept: 'image/avif,image/*,*/*;q=0.8' })).toBe(false)
    expect(
      isPageNavigation('GET', { ...none, accept: html, xRequestedWith: 'XMLHttpRequest' }),
    ).toBe(false)
    expect(isPageNavigation('POST', { ...none, accept: html })).toBe(false)
  })
})

describe('gateRequest with attemptSilentLogin', () => {
  it('starts one silent login per session, for page navigations only', () => {
    const ctx = createContext(options({ attemptSilentLogin: true }))
    const session = anonymous()
    expect(gateRequest(ctx, session, input())).toEqual({ action: 'next' })
    expect(gateRequest(ctx, session, input({ pageNavigation: true, path: '/login' }))).toEqual({
      action: 'next',
    })
    expect(gateRequest(ctx, session, input({ pageNavigation: true }))).toEqual({
      action: 'login',
      login: { returnTo: '/orders?page=2', silent: true },
    })
    // The mark is set by startLogin; with it, no other attempt.
    ;(session.data as Record<string, unknown>)[ctx.vault.sessionKey] = { silentLoginTried: true }
    expect(gateRequest(ctx, session, input({ pageNavigation: true }))).toEqual({ action: 'next' })
  })
})
