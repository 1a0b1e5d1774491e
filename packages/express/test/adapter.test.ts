// The Express adapter driven over HTTP: a real express + express-session app, with the core
// protocol functions faked at the function level for the paths a real AS does not produce easily.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import * as core from '@codegrant/core'
import { CodegrantError, type LoginTransaction } from '@codegrant/core'
import express from 'express'
import session from 'express-session'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { auth, AuthError, requiresAuth, type AuthOptions, type RequestAuth } from '../src/index.js'

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
const SECRET = 'adapter-test-secret-0123456789abcdef-xyz'
const fakeClient = Object.freeze({
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'http://127.0.0.1/callback',
  metadata: Object.freeze({}),
}) as unknown as core.Client
const now = () => Math.floor(Date.now() / 1000)

/** What the mocked handleCallback returns: tokens expiring in `expiresIn` s, ID token claims. */
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

let server: Server | undefined
let base = ''
let lastError: unknown
let store: session.MemoryStore
let stateCounter = 0
let claimsForNextLogin: Record<string, unknown> = {}

async function start(
  options: Partial<AuthOptions> = {},
  withSession = true,
  keepStore = false,
): Promise<void> {
  const app = express()
  if (!keepStore) store = new session.MemoryStore()
  if (withSession) app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }))
  app.use(auth({ client: fakeClient, secret: SECRET, ...options }))
  const authOf = (req: express.Request) => (req as unknown as { auth: RequestAuth }).auth
  app.get(
    '/me',
    (req, res) =>
      void res.status(authOf(req).isAuthenticated ? 200 : 401).json(authOf(req).user ?? {}),
  )
  app.get('/token', async (req, res, next) => {
    try {
      res.json({ token: await authOf(req).getAccessToken() })
    } catch (err) {
      next(err)
    }
  })
  app.get('/recent', requiresAuth({ maxAge: 60 }), (_req, res) => void res.send('ok'))
  app.get('/strong', requiresAuth({ acrValues: ['high'] }), (_req, res) => void res.send('ok'))
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      lastError = err
      const e = err as { status?: number; code?: string; message?: string }
      res.status(e.status ?? 500).json({ code: e.code, message: e.message })
    },
  )
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

class Browser {
  cookie = ''
  async get(path: string, accept = 'text/html') {
    const res = await fetch(new URL(path, base), {
      redirect: 'manual',
      headers: { accept, ...(this.cookie ? { cookie: this.cookie } : {}) },
    })
    const set = res.headers.get('set-cookie')
    if (set) this.cookie = set.split(';')[0]!
    return res
  }
  /** Starts a login; returns its state. */
  async startLogin(path = '/login'): Promise<string> {
    const res = await this.get(path)
    expect(res.status).toBe(302)
    return new URL(res.headers.get('location')!).searchParams.get('state')!
  }
  async callback(state: string) {
    return this.get(`/callback?code=c&state=${state}`, 'application/json')
  }
  async login(): Promise<void> {
    const res = await this.callback(await this.startLogin())
    expect(res.status).toBe(302)
  }
}

beforeEach(() => {
  vi.resetAllMocks()
  lastError = undefined
  claimsForNextLogin = {}
  mocked.createAuthorizationRequest.mockImplementation(async (_client, params) => {
    const state = `state-${++stateCounter}`
    const t = now()
    const transaction: LoginTransaction = {
      state,
      nonce: 'n',
      code_verifier: 'v',
      redirect_uri: fakeClient.redirectUri,
      response_mode: 'query',
      scope: 'openid',
      created_at: t,
      expires_at: t + 600,
      ...(params?.maxAge !== undefined ? { max_age: params.maxAge } : {}),
    }
    const url = new URL('https://as.example/authorize')
    url.searchParams.set('state', state)
    if (params?.maxAge !== undefined) url.searchParams.set('max_age', String(params.maxAge))
    if (params?.acrValues !== undefined) url.searchParams.set('acr_values', params.acrValues)
    return { url, transaction }
  })
  mocked.handleCallback.mockImplementation(async () => callbackResult(3600, claimsForNextLogin))
})
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  server = undefined
})

describe('auth() without express-session', () => {
  it('fails every request with ERR_SESSION_REQUIRED naming the fix', async () => {
    await start({}, false)
    const res = await fetch(`${base}/me`)
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.code).toBe('ERR_SESSION_REQUIRED')
    expect(body.message).toContain('app.use(session(')
  })
})

describe('callback failures', () => {
  it('an invalid ID token: ERR_LOGIN_FAILED 400 with the CodegrantError as cause, no session', async () => {
    await start()
    const cause = new CodegrantError('ERR_ID_TOKEN_INVALID', 'bad nonce')
    mocked.handleCallback.mockRejectedValueOnce(cause)
    const browser = new Browser()
    const res = await browser.callback(await browser.startLogin())
    expect(res.status).toBe(400)
    expect(lastError).toBeInstanceOf(AuthError)
    expect((lastError as AuthError).code).toBe('ERR_LOGIN_FAILED')
    expect((lastError as AuthError).cause).toBe(cause)
    expect((await browser.get('/me')).status).toBe(401)
  })

  it('the AS unreachable: ERR_AS_UNAVAILABLE 502', async () => {
    await start()
    mocked.handleCallback.mockRejectedValueOnce(
      new CodegrantError('ERR_NETWORK', 'connect ECONNREFUSED'),
    )
    const browser = new Browser()
    const res = await browser.callback(await browser.startLogin())
    expect(res.status).toBe(502)
    expect((await res.json()).code).toBe('ERR_AS_UNAVAILABLE')
  })

  it('an expired transaction: ERR_TRANSACTION_EXPIRED, core not called', async () => {
    await start()
    mocked.createAuthorizationRequest.mockImplementationOnce(async () => ({
      url: new URL('https://as.example/authorize?state=old'),
      transaction: {
        state: 'old',
        code_verifier: 'v',
        redirect_uri: fakeClient.redirectUri,
        response_mode: 'query',
        scope: 'openid',
        created_at: now() - 599,
        expires_at: now() + 1,
      },
    }))
    const browser = new Browser()
    const state = await browser.startLogin()
    await new Promise((r) => setTimeout(r, 2100))
    const res = await browser.callback(state)
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('ERR_TRANSACTION_EXPIRED')
    expect(mocked.handleCallback).not.toHaveBeenCalled()
  })

  it('keeps at most maxTransactions logins in progress (oldest dropped)', async () => {
    await start({ maxTransactions: 3 })
    const browser = new Browser()
    const states: string[] = []
    for (let i = 0; i < 5; i += 1) states.push(await browser.startLogin())
    const oldest = await browser.callback(states[0]!)
    expect(oldest.status).toBe(400)
    expect((await oldest.json()).code).toBe('ERR_STATE_UNKNOWN')
    expect((await browser.callback(states[4]!)).status).toBe(302)
    expect((await browser.callback(states[3]!)).status).toBe(302)
  })
})

describe('form_post resubmit page', () => {
  it('escapes quotes in the re-posted fields, so a value cannot break out of its attribute', async () => {
    await start()
    const attack = 'x" autofocus onfocus="alert(1)'
    const res = await fetch(new URL('/callback', base), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'cross-site',
      },
      body: new URLSearchParams({ state: 'st', code: attack, [`a"b`]: 'v' }).toString(),
    })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('value="x&quot; autofocus onfocus=&quot;alert(1)"')
    expect(html).toContain('name="a&quot;b"')
    expect(html).not.toContain('" autofocus')
  })
})

describe('step-up', () => {
  it('maxAge: an old auth_time sends the user to re-authenticate with max_age', async () => {
    await start()
    claimsForNextLogin = { auth_time: now() - 1000 }
    const browser = new Browser()
    await browser.login()
    const res = await browser.get('/recent')
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe('https://as.example')
    expect(location.searchParams.get('max_age')).toBe('60')
    const json = await browser.get('/recent', 'application/json')
    expect(json.status).toBe(401)
    expect((await json.json()).error).toBe('insufficient_user_authentication')
    // Re-authenticated: fresh auth_time, back to the page.
    claimsForNextLogin = { auth_time: now() }
    const back = await browser.callback(location.searchParams.get('state')!)
    expect(back.status).toBe(302)
    expect(back.headers.get('location')).toBe('/recent')
    expect((await browser.get('/recent')).status).toBe(200)
  })

  it('acrValues: a login that comes back without the acr fails with ERR_STEP_UP_FAILED and keeps the session', async () => {
    await start()
    claimsForNextLogin = { acr: 'low' }
    const browser = new Browser()
    await browser.login()
    const res = await browser.get('/strong')
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.searchParams.get('acr_values')).toBe('high')
    const failed = await browser.callback(location.searchParams.get('state')!)
    expect(failed.status).toBe(403)
    expect((await failed.json()).code).toBe('ERR_STEP_UP_FAILED')
    expect((await browser.get('/me')).status).toBe(200)
  })
})

describe('tokens', () => {
  it('a fresh token costs no refresh and no store write', async () => {
    await start()
    const browser = new Browser()
    await browser.login()
    const set = vi.spyOn(store, 'set')
    expect(await (await browser.get('/token', 'application/json')).json()).toEqual({
      token: 'at-1',
    })
    expect(await (await browser.get('/token', 'application/json')).json()).toEqual({
      token: 'at-1',
    })
    expect(set).not.toHaveBeenCalled()
    expect(mocked.refreshTokens).not.toHaveBeenCalled()
  })

  it('a refresh failing below HTTP is a 502 and keeps the session', async () => {
    await start({ refreshMargin: 10_000 })
    mocked.handleCallback.mockImplementationOnce(async () => callbackResult(5))
    const browser = new Browser()
    await browser.login()
    mocked.refreshTokens.mockRejectedValueOnce(new CodegrantError('ERR_TIMEOUT', 'timeout'))
    await new Promise((r) => setTimeout(r, 3100))
    const res = await browser.get('/token', 'application/json')
    expect(res.status).toBe(502)
    expect((await res.json()).code).toBe('ERR_AS_UNAVAILABLE')
    expect((await browser.get('/me')).status).toBe(200)
  })

  it('secret rotation: old tokens decrypt with the old secret listed; once it is gone the session ends', async () => {
    await start()
    const browser = new Browser()
    await browser.login()
    const restart = async (secret: string | string[]) => {
      server?.closeAllConnections()
      await new Promise((resolve) => server!.close(resolve))
      await start({ secret }, true, true)
    }
    const NEW = 'the-new-adapter-test-secret-0123456789-abc'
    await restart([NEW, SECRET])
    expect(await (await browser.get('/token', 'application/json')).json()).toEqual({
      token: 'at-1',
    })
    await restart(NEW)
    const res = await browser.get('/token', 'application/json')
    expect(res.status).toBe(401)
    expect((await res.json()).code).toBe('ERR_SESSION_ENDED')
    expect((await browser.get('/me')).status).toBe(401)
  })

  it('the absolute session lifetime ends the session', async () => {
    await start({ absoluteDuration: 1 })
    const browser = new Browser()
    await browser.login()
    expect((await browser.get('/me')).status).toBe(200)
    await new Promise((r) => setTimeout(r, 2100))
    expect((await browser.get('/me')).status).toBe(401)
  })
})

describe('back-channel logout', () => {
  const post = (token: string) =>
    fetch(new URL('/backchannel-logout', base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    })

  it('an invalid logout token: 400 invalid_request', async () => {
    await start()
    mocked.validateLogoutToken.mockRejectedValue(
      new CodegrantError('ERR_LOGOUT_TOKEN_INVALID', 'logout token: bad signature'),
    )
    const res = await post('a.b.c')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('refuses a token whose sub differs from the user of the session its sid names', async () => {
    await start()
    claimsForNextLogin = { sid: 'op-session-1' }
    const browser = new Browser()
    await browser.login()
    expect((await browser.get('/me')).status).toBe(200)
    const token = (sub: string, jti: string) => ({
      claims: { iss: 'https://as.example', jti, exp: now() + 60 },
      sid: 'op-session-1',
      sub,
    })
    mocked.validateLogoutToken.mockResolvedValueOnce(token('someone-else', 'j1') as never)
    const refused = await post('a.b.c')
    expect(refused.status).toBe(400)
    expect((await browser.get('/me')).status).toBe(200)
    mocked.validateLogoutToken.mockResolvedValueOnce(token('user-1', 'j2') as never)
    expect((await post('a.b.c')).status).toBe(200)
    expect((await browser.get('/me')).status).toBe(401)
  })

  it('AS keys unreachable: 503 so the OP may retry, not a verdict on the token', async () => {
    await start()
    mocked.validateLogoutToken.mockRejectedValue(
      new CodegrantError('ERR_NETWORK', 'could not reach the authorization server'),
    )
    const res = await post('a.b.c')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' })
  })
})
