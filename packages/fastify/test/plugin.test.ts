// The Fastify plugin driven with app.inject(): a real fastify + @fastify/cookie + @fastify/session
// app, with the core protocol functions faked at the function level (the integration tests in
// test/fastify-*.test.ts run against the real local AS).
import * as core from '@codegrant/core'
import { CodegrantError, type LoginTransaction } from '@codegrant/core'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  AuthError,
  claimEquals,
  claimIncludes,
  fastifyAuth,
  getAuth,
  requiresAuth,
  type FastifyAuthOptions,
} from '../src/index.js'

vi.mock('@codegrant/core', async (importOriginal) => {
  const actual = await importOriginal<typeof core>()
  return {
    ...actual,
    createAuthorizationRequest: vi.fn(),
    handleCallback: vi.fn(),
    refreshTokens: vi.fn(),
    revokeToken: vi.fn(),
    buildEndSessionUrl: vi.fn(),
    fetchUserInfo: vi.fn(),
    validateLogoutToken: vi.fn(),
  }
})

const mocked = vi.mocked(core)
const SECRET = 'fastify-test-token-secret-0123456789abcdef'
const SESSION_SECRET = 'fastify-test-session-secret-0123456789abcdef'
const fakeClient = Object.freeze({
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'http://localhost/callback',
  metadata: Object.freeze({}),
}) as unknown as core.Client
const now = () => Math.floor(Date.now() / 1000)

function callbackResult(expiresIn: number, claims: Record<string, unknown> = {}) {
  return {
    tokens: {
      access_token: 'at-1',
      token_type: 'Bearer',
      refresh_token: 'rt-1',
      expires_at: now() + expiresIn,
    },
    claims: {
      iss: 'https://as.example',
      sub: 'user-1',
      aud: 'rp',
      exp: now() + 3600,
      iat: now(),
      ...claims,
    },
  }
}

let app: FastifyInstance | undefined
// The MemoryStore's entries, by session id.
let sessions: Map<string, unknown>
let stateCounter = 0
let claimsForNextLogin: Record<string, unknown> = {}
let accessTokenTtl = 3600

async function start(
  options: Partial<FastifyAuthOptions> = {},
  cookie: { maxAge?: number } = {},
): Promise<FastifyInstance> {
  app = Fastify()
  sessions = new Map()
  const store = new fastifySession.MemoryStore(sessions as Map<string, never>)
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    saveUninitialized: false,
    rolling: false,
    store,
    cookie: { secure: false, httpOnly: true, sameSite: 'lax', ...cookie },
  })
  await app.register(fastifyAuth, { client: fakeClient, secret: SECRET, ...options })
  app.get('/me', async (request, reply) =>
    reply.code(request.auth.isAuthenticated ? 200 : 401).send(request.auth.user ?? {}),
  )
  app.get('/token', async (request) => ({
    token: await getAuth(request).getAccessToken(),
  }))
  app.get('/profile', { onRequest: requiresAuth() }, async (request) => ({
    sub: request.auth.user?.sub,
  }))
  app.post('/echo', async (request) => request.body)
  app.get('/recent', { onRequest: requiresAuth({ maxAge: 60 }) }, async () => 'ok')
  app.get('/admin', { onRequest: claimEquals('role', 'admin') }, async () => 'ok')
  app.get('/groups', { onRequest: claimIncludes('groups', 'a', 'b') }, async () => 'ok')
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _request, reply) =>
    reply.code(err.statusCode ?? 500).send({ code: err.code, message: err.message }),
  )
  await app.ready()
  return app
}

/** A browser on app.inject(): keeps the session cookie, never follows redirects. */
class Browser {
  cookie = ''
  constructor(private readonly app: FastifyInstance) {}
  async get(url: string, accept = 'text/html'): Promise<LightMyRequestResponse> {
    return this.send({ method: 'GET', url, headers: { accept } })
  }
  async send(options: {
    method: 'GET' | 'POST'
    url: string
    headers?: Record<string, string>
    payload?: string
  }): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      ...options,
      headers: { ...options.headers, ...(this.cookie ? { cookie: this.cookie } : {}) },
    })
    // In order: @fastify/session may clear the old cookie, then set the new one.
    for (const set of [res.headers['set-cookie'] ?? []].flat()) {
      const pair = set.split(';')[0]!
      this.cookie = /=$/.test(pair) || /Expires=Thu, 01 Jan 1970/i.test(set) ? '' : pair
    }
    return res
  }
  /** Starts a login; returns its state. */
  async startLogin(path = '/login'): Promise<string> {
    const res = await this.get(path)
    expect(res.statusCode).toBe(302)
    return new URL(res.headers.location as string).searchParams.get('state')!
  }
  callback(state: string) {
    return this.get(`/callback?code=c&state=${state}`, 'application/json')
  }
  async login(): Promise<void> {
    const res = await this.callback(await this.startLogin())
    expect(res.statusCode).toBe(302)
  }
  /** The session id in the cookie (`<id>.<signature>`). */
  sessionId(): string {
    return decodeURIComponent(this.cookie.split('=')[1] ?? '').split('.')[0]!
  }
}

beforeEach(() => {
  vi.resetAllMocks()
  claimsForNextLogin = {}
  accessTokenTtl = 3600
  mocked.createAuthorizationRequest.mockImplementation(async (_client, params) => {
    const state = `state-${++stateCounter}`
    const t = now()
    const transaction: LoginTransaction = {
      state,
      nonce: 'n',
      code_verifier: 'v',
      redirect_uri: fakeClient.redirectUri,
      response_mode: 'query',
      scope: 'openid offline_access',
      created_at: t,
      expires_at: t + 600,
      ...(params?.maxAge !== undefined ? { max_age: params.maxAge } : {}),
    }
    const url = new URL('https://as.example/authorize')
    url.searchParams.set('state', state)
    if (params?.maxAge !== undefined) url.searchParams.set('max_age', String(params.maxAge))
    return { url, transaction }
  })
  mocked.handleCallback.mockImplementation(async () =>
    callbackResult(accessTokenTtl, claimsForNextLogin),
  )
})
afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('registration', () => {
  it('refuses to register without @fastify/session, naming it', async () => {
    const bare = Fastify()
    await bare.register(fastifyCookie)
    await expect(
      bare.register(fastifyAuth, { client: fakeClient, secret: SECRET }).ready(),
    ).rejects.toThrow(
      /no session plugin is registered before it.*@fastify\/session.*@fastify\/secure-session/,
    )
    await bare.close()
  })

  it('refuses an invalid engine option at registration, naming it (resolveOptions)', async () => {
    await expect(start({ secret: 'short' })).rejects.toThrow(TypeError)
    await expect(start({ secret: 'short' })).rejects.toThrow(/^fastifyAuth: "secret"/)
  })
})

describe('login and callback', () => {
  it('GET /login: 302 to the AS, no-store, one session saved, returnTo kept for the callback', async () => {
    const browser = new Browser(await start())
    const res = await browser.get('/login?returnTo=%2Fprofile%3Fx%3D1')
    expect(res.statusCode).toBe(302)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(new URL(res.headers.location as string).origin).toBe('https://as.example')
    expect(res.headers['set-cookie']).toMatch(/HttpOnly/)
    expect(sessions.size).toBe(1)
    const state = new URL(res.headers.location as string).searchParams.get('state')!
    const callback = await browser.callback(state)
    expect(callback.statusCode).toBe(302)
    expect(callback.headers.location).toBe('/profile?x=1')
  })

  it('a login moves the session to a new id, keeps tokens sealed in the store, and /me works', async () => {
    const browser = new Browser(await start())
    const state = await browser.startLogin()
    const anonymous = browser.sessionId()
    expect((await browser.callback(state)).statusCode).toBe(302)
    const loggedIn = browser.sessionId()
    expect(loggedIn).not.toBe(anonymous)
    expect(sessions.has(anonymous)).toBe(false)
    // The store entry is the vault's copy of @fastify/session's Session object ({...session}):
    // the section is there, sealed, and neither token appears in it.
    const entry = sessions.get(loggedIn) as Record<string, unknown>
    expect(entry.codegrant).toBeDefined()
    expect(JSON.stringify(entry)).not.toMatch(/at-1|rt-1/)
    const me = await browser.get('/me', 'application/json')
    expect(me.statusCode).toBe(200)
    expect(me.json().sub).toBe('user-1')
  })

  it('the login session expires with its transaction; the logged-in one gets the configured maxAge', async () => {
    // Regression: @fastify/session carries a session's cookie options through regenerate(), so
    // the login session's short lifetime must not be a maxAge.
    const browser = new Browser(await start({}, { maxAge: 24 * 3600 * 1000 }))
    // Of the last Set-Cookie (@fastify/session may clear the old cookie first).
    const expiresIn = (res: LightMyRequestResponse) => {
      const last = [res.headers['set-cookie'] ?? []].flat().at(-1)!
      return (Date.parse(/Expires=([^;]+)/.exec(last)![1]!) - Date.now()) / 1000
    }
    const login = await browser.get('/login')
    expect(expiresIn(login)).toBeLessThanOrEqual(11 * 60)
    expect(expiresIn(login)).toBeGreaterThan(9 * 60)
    const state = new URL(login.headers.location as string).searchParams.get('state')!
    const callback = await browser.callback(state)
    expect(callback.statusCode).toBe(302)
    expect(expiresIn(callback)).toBeGreaterThan(23 * 3600)
  })

  it('returnTo: anything but a same-origin relative path falls back to /', async () => {
    for (const evil of ['//evil.example', 'https://evil.example/x', '/\\evil.example']) {
      const browser = new Browser(app ?? (await start()))
      const state = await browser.startLogin(`/login?returnTo=${encodeURIComponent(evil)}`)
      expect((await browser.callback(state)).headers.location).toBe('/')
    }
  })

  it('several logins in progress at once (two tabs): each completes', async () => {
    const browser = new Browser(await start())
    const first = await browser.startLogin('/login?returnTo=%2Fa')
    const second = await browser.startLogin('/login?returnTo=%2Fb')
    const b = await browser.callback(second)
    expect(b.statusCode).toBe(302)
    expect(b.headers.location).toBe('/b')
    const a = await browser.callback(first)
    expect(a.statusCode).toBe(302)
    expect(a.headers.location).toBe('/a')
    // Consumed exactly once.
    expect((await browser.callback(first)).statusCode).toBe(400)
  })

  it('an unknown state: 400 ERR_STATE_UNKNOWN, no-store; without the cookie: ERR_SESSION_COOKIE_MISSING', async () => {
    const browser = new Browser(await start())
    await browser.startLogin()
    const unknown = await browser.callback('forged')
    expect(unknown.statusCode).toBe(400)
    expect(unknown.headers['cache-control']).toBe('no-store')
    expect(unknown.json().code).toBe('ERR_STATE_UNKNOWN')
    const missing = await new Browser(app!).callback('forged')
    expect(missing.statusCode).toBe(400)
    expect(missing.json().code).toBe('ERR_SESSION_COOKIE_MISSING')
  })

  it('a session cookie whose session is gone from the store: ERR_STATE_UNKNOWN saying so', async () => {
    const browser = new Browser(await start())
    const state = await browser.startLogin()
    sessions.clear()
    const res = await browser.callback(state)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('ERR_STATE_UNKNOWN')
    expect(res.json().message).toContain('the session of this login was not found')
  })

  it('a refused ID token: 400 ERR_LOGIN_FAILED, no session established', async () => {
    const browser = new Browser(await start())
    mocked.handleCallback.mockRejectedValueOnce(new CodegrantError('ERR_ID_TOKEN_INVALID', 'x'))
    const res = await browser.callback(await browser.startLogin())
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('ERR_LOGIN_FAILED')
    expect((await browser.get('/me', 'application/json')).statusCode).toBe(401)
  })

  it('form_post: POST /callback with a form body completes the login', async () => {
    const browser = new Browser(await start())
    const state = await browser.startLogin()
    const res = await browser.send({
      method: 'POST',
      url: '/callback',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
      },
      payload: new URLSearchParams({ code: 'c', state }).toString(),
    })
    expect(res.statusCode).toBe(302)
    expect(mocked.handleCallback).toHaveBeenCalledTimes(1)
    expect(mocked.handleCallback.mock.calls[0]![1]).toEqual({ body: { code: 'c', state } })
    expect((await browser.get('/me', 'application/json')).statusCode).toBe(200)
  })

  it('form_post: a cross-site POST without the cookie gets the same-origin resubmit page', async () => {
    await start()
    const res = await app!.inject({
      method: 'POST',
      url: '/callback',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'cross-site',
      },
      payload: 'code=c&state=s',
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-security-policy']).toMatch(/script-src 'nonce-/)
    expect(res.body).toContain('name="state" value="s"')
  })

  it("the form parser is the plugin scope's own: the app's routes get no urlencoded parser", async () => {
    await start()
    const res = await app!.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=b',
    })
    expect(res.statusCode).toBe(415)
  })
})

describe('outside the session cookie path', () => {
  it('request.auth says nobody is logged in (no session is loaded there)', async () => {
    const scoped = Fastify()
    await scoped.register(fastifyCookie)
    await scoped.register(fastifySession, {
      secret: SESSION_SECRET,
      saveUninitialized: false,
      cookie: { secure: false, path: '/app' },
    })
    await scoped.register(fastifyAuth, { client: fakeClient, secret: SECRET })
    scoped.get('/other', async (request) => ({
      loggedIn: request.auth.isAuthenticated,
      token: await request.auth.getAccessToken().catch((err: AuthError) => err.code),
    }))
    const res = await scoped.inject('/other')
    expect(res.json()).toEqual({ loggedIn: false, token: 'ERR_UNAUTHENTICATED' })
    await scoped.close()
  })
})

describe('guards', () => {
  it('requiresAuth(): HTML gets a redirect with returnTo, JSON and XHR get 401 JSON', async () => {
    const browser = new Browser(await start())
    const page = await browser.get('/profile?tab=1')
    expect(page.statusCode).toBe(302)
    expect(page.headers.location).toBe('/login?returnTo=%2Fprofile%3Ftab%3D1')
    const json = await browser.get('/profile', 'application/json')
    expect(json.statusCode).toBe(401)
    expect(json.json()).toEqual({
      error: 'unauthorized',
      error_description: 'Authentication required',
    })
    const xhr = await browser.send({
      method: 'GET',
      url: '/profile',
      headers: { accept: '*/*', 'x-requested-with': 'XMLHttpRequest' },
    })
    expect(xhr.statusCode).toBe(401)
    await browser.login()
    expect((await browser.get('/profile', 'application/json')).json()).toEqual({ sub: 'user-1' })
  })

  it('claims: 403 JSON for a logged-in user without them, ERR_FORBIDDEN for a page; through with them', async () => {
    const browser = new Browser(await start())
    claimsForNextLogin = { role: 'user', groups: ['a'] }
    await browser.login()
    const json = await browser.get('/admin', 'application/json')
    expect(json.statusCode).toBe(403)
    expect(json.json().error).toBe('forbidden')
    const page = await browser.get('/groups')
    expect(page.statusCode).toBe(403)
    expect(page.json().code).toBe('ERR_FORBIDDEN')
    const admin = new Browser(app!)
    claimsForNextLogin = { role: 'admin', groups: ['b', 'a'] }
    await admin.login()
    expect((await admin.get('/admin')).statusCode).toBe(200)
    expect((await admin.get('/groups')).statusCode).toBe(200)
  })

  it('step-up: an old auth_time sends a page to the AS with max_age; JSON gets 401', async () => {
    const browser = new Browser(await start())
    claimsForNextLogin = { auth_time: now() - 1000 }
    await browser.login()
    const page = await browser.get('/recent')
    expect(page.statusCode).toBe(302)
    const location = new URL(page.headers.location as string)
    expect(location.origin).toBe('https://as.example')
    expect(location.searchParams.get('max_age')).toBe('60')
    const json = await browser.get('/recent', 'application/json')
    expect(json.statusCode).toBe(401)
    expect(json.json().error).toBe('insufficient_user_authentication')
  })

  it('a guard on an app without the plugin fails with ERR_SESSION_REQUIRED', async () => {
    const bare = Fastify()
    bare.get('/x', { onRequest: requiresAuth() }, async () => 'ok')
    const res = await bare.inject('/x')
    expect(res.statusCode).toBe(500)
    expect(res.json().code).toBe('ERR_SESSION_REQUIRED')
    expect(() => getAuth({} as never)).toThrow(AuthError)
    await bare.close()
  })
})

describe('getAccessToken()', () => {
  it('a fresh token: no refresh; expired: one refresh for concurrent requests (single-flight)', async () => {
    const browser = new Browser(await start())
    await browser.login()
    expect((await browser.get('/token', 'application/json')).json().token).toBe('at-1')
    expect(mocked.refreshTokens).not.toHaveBeenCalled()
    await app!.close()

    accessTokenTtl = 0
    const expiring = new Browser(await start())
    await expiring.login()
    mocked.refreshTokens.mockImplementation(async () => {
      await new Promise((r) => setTimeout(r, 50))
      return {
        tokens: {
          access_token: 'at-2',
          token_type: 'Bearer',
          refresh_token: 'rt-2',
          expires_at: now() + 3600,
        },
        claims: undefined,
      } as unknown as Awaited<ReturnType<typeof core.refreshTokens>>
    })
    const results = await Promise.all(
      Array.from({ length: 5 }, () => expiring.get('/token', 'application/json')),
    )
    expect(results.map((r) => r.json().token)).toEqual(Array(5).fill('at-2'))
    expect(mocked.refreshTokens).toHaveBeenCalledTimes(1)
    // The new token set was written to the store (sealed).
    expect((await expiring.get('/token', 'application/json')).json().token).toBe('at-2')
    expect(mocked.refreshTokens).toHaveBeenCalledTimes(1)
  })

  it('invalid_grant at refresh ends the session: 401 ERR_SESSION_ENDED, then logged out', async () => {
    accessTokenTtl = 0
    const browser = new Browser(await start())
    await browser.login()
    mocked.refreshTokens.mockRejectedValueOnce(new CodegrantError('ERR_INVALID_GRANT', 'gone'))
    const res = await browser.get('/token', 'application/json')
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('ERR_SESSION_ENDED')
    expect((await browser.get('/me', 'application/json')).statusCode).toBe(401)
  })
})

describe('logout', () => {
  it('GET and POST /logout destroy the session and redirect (end_session or logoutReturnTo)', async () => {
    const browser = new Browser(await start({ logoutReturnTo: '/bye' }))
    await browser.login()
    const sid = browser.sessionId()
    const res = await browser.get('/logout')
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('/bye')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(sessions.has(sid)).toBe(false)
    expect((await browser.get('/me', 'application/json')).statusCode).toBe(401)

    await browser.login()
    mocked.buildEndSessionUrl.mockReturnValue(new URL('https://as.example/logout?x=1'))
    const post = await browser.send({
      method: 'POST',
      url: '/logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    })
    expect(post.statusCode).toBe(302)
    expect((await browser.get('/me', 'application/json')).statusCode).toBe(401)
  })

  it('back-channel logout: 400 invalid_request without a logout_token', async () => {
    await start()
    const res = await app!.inject({
      method: 'POST',
      url: '/backchannel-logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'x=1',
    })
    expect(res.statusCode).toBe(400)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json().error).toBe('invalid_request')
  })

  it('custom routes come from the engine options (resolveOptions)', async () => {
    const browser = new Browser(
      await start({
        routes: { login: '/auth/login', logout: '/auth/logout', backchannelLogout: false },
      }),
    )
    expect((await browser.get('/login')).statusCode).toBe(404)
    expect((await browser.get('/auth/login')).statusCode).toBe(302)
    const bcl = await app!.inject({ method: 'POST', url: '/backchannel-logout' })
    expect(bcl.statusCode).toBe(404)
  })
})
