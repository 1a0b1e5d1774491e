import { randomBytes } from 'node:crypto'
import type { Client } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import {
  createContext,
  gateRequest,
  isOwnRoute,
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
