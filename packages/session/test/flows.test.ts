// The flows as an adapter calls them: plain inputs in, plain outcomes out, over a VaultSession on
// the in-memory store. The protocol paths (AS, code exchange) are covered over HTTP by
// @codegrant/express's tests and the integration tests.
import { randomBytes } from 'node:crypto'
import type { Client, IdTokenClaims } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import {
  accessRule,
  backchannelLogOut,
  claimEqualsTest,
  claimIncludesTest,
  completeLogin,
  createContext,
  decideAccess,
  logOut,
  resolveOptions,
  type AccessInput,
  type AuthContext,
  type CallbackInput,
  type SessionData,
  type SessionStore,
  type VaultSession,
} from '../src/index.js'
import { JsonMemoryStore } from './support/memory-store.js'

const client = {
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'https://rp.example/callback',
  metadata: {},
} as Pick<Client, 'issuer' | 'clientId' | 'redirectUri' | 'metadata'>

function context(sessionKey = `k${randomBytes(4).toString('hex')}`): AuthContext {
  return createContext(
    resolveOptions({ client: client as Client, secret: 's'.repeat(40), sessionKey }),
  )
}

/** A request's session on `store` (the shape an adapter gives the vault). */
function sessionOn(store: SessionStore, data: SessionData = { cookie: {} }): VaultSession {
  let id = randomBytes(12).toString('base64url')
  let current = data
  const call = (run: (cb: (err?: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => run((err) => (err ? reject(err) : resolve())))
  return {
    get id() {
      return id
    },
    get data() {
      return current
    },
    store,
    save: () => call((cb) => store.set(id, current, cb)),
    regenerate: () =>
      call((cb) => store.destroy(id, cb)).then(() => {
        id = randomBytes(12).toString('base64url')
        current = { cookie: {} }
      }),
    destroy: () => call((cb) => store.destroy(id, cb)),
    expireIn() {},
  }
}

const claims: IdTokenClaims = { iss: client.issuer, sub: 'u1', aud: 'rp', exp: 0, iat: 0 }

describe('decideAccess', () => {
  const ctx = context()
  const page = (over: Partial<AccessInput> = {}): AccessInput => ({
    user: undefined,
    router: { ctx, mountPath: '/auth' },
    method: 'GET',
    url: '/profile?tab=1',
    prefersJson: false,
    ...over,
  })

  it('sends a page request without a login to the login route with returnTo', () => {
    expect(decideAccess(accessRule(), page())).toEqual({
      action: 'redirect',
      redirectTo: '/auth/login?returnTo=%2Fprofile%3Ftab%3D1',
    })
  })

  it('answers 401 JSON to a JSON or non-GET request without a login', () => {
    for (const input of [page({ prefersJson: true }), page({ method: 'POST' })]) {
      expect(decideAccess(accessRule(), input)).toMatchObject({
        action: 'reply',
        status: 401,
        headers: { 'Cache-Control': 'no-store' },
        body: { error: 'unauthorized' },
      })
    }
  })

  it('fails with ERR_SESSION_REQUIRED when the login middleware did not run', () => {
    const decision = decideAccess(accessRule(), page({ router: undefined }))
    expect(decision).toMatchObject({ action: 'fail', error: { code: 'ERR_SESSION_REQUIRED' } })
  })

  it('lets a logged-in user through, and applies claim tests (403 JSON, ERR_FORBIDDEN page)', () => {
    expect(decideAccess(accessRule(), page({ user: claims }))).toEqual({ action: 'allow' })
    const admin = claimEqualsTest('role', 'admin')
    expect(decideAccess(accessRule(), page({ user: claims, check: admin }))).toMatchObject({
      action: 'fail',
      error: { code: 'ERR_FORBIDDEN', status: 403 },
    })
    expect(
      decideAccess(accessRule(), page({ user: claims, check: admin, prefersJson: true })),
    ).toMatchObject({ action: 'reply', status: 403, body: { error: 'forbidden' } })
    const scoped = { ...claims, scope: 'read write' }
    expect(
      decideAccess(accessRule(), page({ user: scoped, check: claimIncludesTest('scope', 'read') })),
    ).toEqual({ action: 'allow' })
  })

  it('asks a step-up login for a session whose acr falls short, 401 for JSON', () => {
    const rule = accessRule({ acrValues: 'mfa hw', maxAge: 300 })
    expect(decideAccess(rule, page({ user: { ...claims, acr: 'pwd' } }))).toEqual({
      action: 'step-up',
      login: { returnTo: '/profile?tab=1', acrValues: 'mfa hw', maxAge: 300 },
    })
    expect(
      decideAccess(rule, page({ user: { ...claims, acr: 'pwd' }, prefersJson: true })),
    ).toMatchObject({ status: 401, body: { error: 'insufficient_user_authentication' } })
    const recent = { ...claims, acr: 'mfa', auth_time: Math.floor(Date.now() / 1000) }
    expect(decideAccess(rule, page({ user: recent }))).toEqual({ action: 'allow' })
  })

  it('names a bad guard option', () => {
    expect(() => accessRule({ maxAge: -1 })).toThrow(/"maxAge"/)
    expect(() => accessRule({ acrValues: [] })).toThrow(/"acrValues"/)
  })
})

describe('completeLogin without a matching login in progress', () => {
  const input = (over: Partial<CallbackInput> = {}): CallbackInput => ({
    method: 'GET',
    url: '/callback?code=c&state=s1',
    params: { code: 'c', state: 's1' },
    fetchSite: undefined,
    sessionCookie: 'current',
    sessionMaxAge: () => undefined,
    ...over,
  })
  const session = () => sessionOn(new JsonMemoryStore())

  it('tells a missing state, an unknown login and a missing cookie apart', async () => {
    const ctx = context()
    await expect(completeLogin(ctx, session(), input({ params: {} }))).rejects.toMatchObject({
      code: 'ERR_STATE_MISSING',
      status: 400,
    })
    await expect(completeLogin(ctx, session(), input())).rejects.toMatchObject({
      code: 'ERR_STATE_UNKNOWN',
    })
    await expect(
      completeLogin(ctx, session(), input({ sessionCookie: 'none' })),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_COOKIE_MISSING' })
    await expect(
      completeLogin(ctx, session(), input({ sessionCookie: 'other' })),
    ).rejects.toMatchObject({ code: 'ERR_STATE_UNKNOWN', message: /was not found/ })
  })

  it('answers a cross-site form_post with a same-origin page that posts it again, escaped', async () => {
    const outcome = await completeLogin(
      context(),
      session(),
      input({
        method: 'POST',
        url: '/callback',
        params: { code: 'c"><script>', state: 's1' },
        fetchSite: 'cross-site',
        sessionCookie: 'none',
      }),
    )
    expect(outcome.kind).toBe('page')
    if (outcome.kind !== 'page') return
    expect(outcome.headers['Cache-Control']).toBe('no-store')
    expect(outcome.html).toContain('name="codegrant_resubmit"')
    expect(outcome.html).toContain('value="c&quot;&gt;&lt;script&gt;"')
    expect(outcome.html).not.toContain('c"><script>')
  })
})

describe('logOut and backchannelLogOut', () => {
  it('logOut of a session without a user destroys it and redirects to logoutReturnTo', async () => {
    const store = new JsonMemoryStore()
    const session = sessionOn(store, { cookie: {}, cart: 'apples' })
    await session.save()
    const sid = session.id
    expect(await logOut(context(), session)).toEqual({
      redirectTo: '/',
      headers: { 'Cache-Control': 'no-store' },
    })
    const stored = await new Promise((resolve) => store.get(sid, (_e, v) => resolve(v)))
    expect(stored).toBeUndefined()
  })

  it('backchannelLogOut answers 400 without a logout token and 500 without a store', async () => {
    const ctx = context()
    expect(await backchannelLogOut(ctx, new JsonMemoryStore(), {})).toEqual({
      status: 400,
      headers: { 'Cache-Control': 'no-store' },
      body: { error: 'invalid_request', error_description: 'logout_token is required' },
    })
    expect(await backchannelLogOut(ctx, undefined, { logout_token: 'x' })).toMatchObject({
      status: 500,
      body: { error: 'server_error' },
    })
  })
})
