// Issue 14, "errors that name the fix": each misconfiguration a new user meets is refused with a
// message that says what to change, and no message carries a secret, a code or a token.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createClient, type Client } from '@codegrant/core'
import { auth, type AuthOptions } from '@codegrant/express'
import { localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Agent,
  SESSION_SECRET,
  sleep,
  startTestApp,
  TOKEN_SECRET,
  type TestApp,
} from './express-harness.js'

const CLIENT_SECRET = localClients.webBasic.clientSecret!

/** No secret of the test (nor the given values) appears in `text`. */
function expectNoSecret(text: string, ...values: string[]): void {
  for (const secret of [SESSION_SECRET, TOKEN_SECRET, CLIENT_SECRET, ...values]) {
    expect(text).not.toContain(secret)
  }
}

let as: LocalAs
const apps: TestApp[] = []
const servers: Server[] = []

beforeAll(async () => {
  as = await startLocalAs({ ttl: { AccessToken: 2 } })
})
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
  for (const s of servers) {
    s.closeAllConnections()
    s.close()
  }
  await as?.close()
})

async function start(options: Parameters<typeof startTestApp>[0]): Promise<TestApp> {
  const app = await startTestApp(options)
  apps.push(app)
  return app
}

const baseOptions = (): AuthOptions => ({
  client: () => Promise.reject(new Error('not used')),
  secret: TOKEN_SECRET,
})

describe('auth() options (TypeError at auth() time)', () => {
  it('names auth() and its "secret" (not express-session\'s) when the secret is too short', () => {
    const short = 'too-short-secret'
    let error: unknown
    try {
      auth({ ...baseOptions(), secret: short })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(TypeError)
    const message = (error as TypeError).message
    expect(message).toMatch(/^auth\(\): "secret" must be at least 32 characters/)
    expect(message).toContain("not express-session's")
    expectNoSecret(message, short)
    // A missing secret (TOKEN_SECRET unset) says the same.
    expect(() => auth({ ...baseOptions(), secret: undefined as unknown as string })).toThrow(
      /^auth\(\): "secret" must be a string .*not express-session's/,
    )
  })

  it('prefixes every TypeError with "auth(): "', () => {
    const bad: Array<Record<string, unknown>> = [
      { secret: ['a'.repeat(32), 'short'] },
      { client: 'not a client' },
      { routes: 'no' },
      { routes: { login: 'login' } },
      { scope: '' },
      { resource: 1 },
      { audience: 2 },
      { authorizationParams: { prompt: 1 } },
      { responseMode: 'fragment' },
      { defaultReturnTo: 'http://evil' },
      { logoutReturnTo: 'x' },
      { postLogoutRedirectUri: '' },
      { maxTransactions: 0 },
      { refreshMargin: -1 },
      { absoluteDuration: 0 },
      { sessionKey: '' },
      { touchAfter: -1 },
      { lock: {} },
      { sessionIndex: {} },
      { revokeOnLogout: 'yes' },
      { fetchUserInfoAtLogin: 1 },
      { logger: {} },
    ]
    for (const override of bad) {
      expect(
        () => auth({ ...baseOptions(), ...override } as AuthOptions),
        JSON.stringify(override),
      ).toThrow(/^auth\(\): "/)
    }
    expect(() => auth(null as unknown as AuthOptions)).toThrow(/^auth\(\): "options"/)
  })

  it('refuses unknown options, naming the key and the likely intended one', () => {
    const refused = (options: Record<string, unknown>) => {
      try {
        auth({ ...baseOptions(), ...options } as AuthOptions)
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError)
        return (err as TypeError).message
      }
      throw new Error(`accepted ${JSON.stringify(options)}`)
    }
    expect(refused({ rotues: { callback: '/cb' } })).toBe(
      'auth(): unknown option "rotues": did you mean "routes"?',
    )
    expect(refused({ scopes: 'openid' })).toMatch(/^auth\(\): unknown option "scopes": .*"scope"/)
    expect(refused({ requiredScopes: ['read'] })).toMatch(
      /^auth\(\): unknown option "requiredScopes": auth\(\) does not check scopes: .*claimCheck\(\)/,
    )
    expect(refused({ fetchUserinfoAtLogin: true })).toMatch(/did you mean "fetchUserInfoAtLogin"/)
    expect(refused({ clientSecret: CLIENT_SECRET })).toMatch(/createClient\(\{ clientSecret \}\)/)
    expectNoSecret(refused({ clientSecret: CLIENT_SECRET }))
    // A key with nothing close lists the options.
    expect(refused({ zzz: 1 })).toMatch(/^auth\(\): unknown option "zzz": known: "client", /)
  })

  it('refuses unknown keys of "routes"', () => {
    expect(() => auth({ ...baseOptions(), routes: { callbak: '/cb' } as never })).toThrow(
      'auth(): unknown option "routes.callbak": did you mean "routes.callback"?',
    )
    expect(() => auth({ ...baseOptions(), routes: { postLogoutRedirect: '/' } as never })).toThrow(
      /"routes.postLogoutRedirect": express-openid-connect's "routes.postLogoutRedirect" is the "logoutReturnTo" option of auth\(\) here/,
    )
    expect(() => auth({ ...baseOptions(), postLogoutRedirect: '/' } as never)).toThrow(
      'auth(): unknown option "postLogoutRedirect": renamed to "logoutReturnTo"',
    )
  })

  it("checks a Client object's redirectUri path against routes.callback at auth() time", async () => {
    const client: Client = await createClient({
      issuer: as.issuer,
      clientId: localClients.webBasic.clientId,
      clientSecret: CLIENT_SECRET,
      redirectUri: 'http://127.0.0.1:3000/auth/cb',
    })
    let message = ''
    try {
      auth({ client, secret: TOKEN_SECRET })
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError)
      message = (err as TypeError).message
    }
    expect(message).toMatch(/^auth\(\): the path of the client's "redirectUri" \(\/auth\/cb\)/)
    expect(message).toContain('"routes.callback" (/callback)')
    expect(message).toContain('set "routes.callback" to "/auth/cb"')
    expectNoSecret(message)
    // Matching routes (also under a mount path) are accepted.
    expect(() =>
      auth({ client, secret: TOKEN_SECRET, routes: { callback: '/auth/cb' } }),
    ).not.toThrow()
    expect(() => auth({ client, secret: TOKEN_SECRET, routes: { callback: '/cb' } })).not.toThrow()
  })
})

describe('a lazy client: misconfiguration found at first use is a clear 500', () => {
  it('a redirectUri path that is not routes.callback: ERR_CONFIG_INVALID naming both', async () => {
    let url = ''
    const app = await start({
      as,
      auth: {
        client: () =>
          createClient({
            issuer: as.issuer,
            clientId: localClients.webBasic.clientId,
            clientSecret: CLIENT_SECRET,
            redirectUri: `${url}/oauth/redirect`,
          }),
      },
    })
    url = app.url
    const res = await new Agent(app.url).request('/login', { accept: 'application/json' })
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.code).toBe('ERR_CONFIG_INVALID')
    expect(body.message).toContain('"redirectUri" (/oauth/redirect)')
    expect(body.message).toContain('"routes.callback" (/callback)')
    expectNoSecret(body.message)
  })

  it('a missing client id (CLIENT_ID unset): ERR_CONFIG_INVALID naming "clientId"', async () => {
    const app = await start({
      as,
      auth: {
        client: () =>
          createClient({
            issuer: as.issuer,
            clientId: undefined as unknown as string,
            clientSecret: CLIENT_SECRET,
            redirectUri: 'http://127.0.0.1:3000/callback',
          }),
      },
    })
    const res = await new Agent(app.url).request('/login', { accept: 'application/json' })
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.code).toBe('ERR_CONFIG_INVALID')
    expect(body.message).toMatch(/^auth\(\): the "client" function failed: "clientId"/)
    expectNoSecret(body.message)
  })

  it('an http issuer that is not loopback: ERR_CONFIG_INVALID naming "issuer" and https', async () => {
    const app = await start({
      as,
      auth: {
        client: () =>
          createClient({
            issuer: 'http://auth.example.com',
            clientId: localClients.webBasic.clientId,
            clientSecret: CLIENT_SECRET,
            redirectUri: 'http://127.0.0.1:3000/callback',
          }),
      },
    })
    const agent = new Agent(app.url)
    for (let i = 0; i < 2; i++) {
      // Every request says it (the factory is called again after a failure).
      const res = await agent.request('/login', { accept: 'application/json' })
      expect(res.status).toBe(500)
      const body = await res.json()
      expect(body.code).toBe('ERR_CONFIG_INVALID')
      expect(body.message).toContain('"issuer" must be an https: URL')
      expectNoSecret(body.message)
    }
  })
})

/** An app with the given session cookie options, served on 127.0.0.1 over http. */
async function cookieApp(cookie: session.CookieOptions): Promise<string> {
  const app = express()
  let url = ''
  let client: Promise<Client> | undefined
  app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false, cookie }))
  app.use(
    auth({
      client: () =>
        (client ??= createClient({
          issuer: as.issuer,
          clientId: localClients.webBasic.clientId,
          clientSecret: CLIENT_SECRET,
          redirectUri: `${url}/callback`,
          scope: 'openid offline_access',
        })),
      secret: TOKEN_SECRET,
    }),
  )
  app.use(
    (
      err: Error & { status?: number; code?: string },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      res.status(err.status ?? 500).json({ code: err.code, message: err.message })
    },
  )
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  servers.push(server)
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return url
}

describe('a callback without the session cookie: ERR_SESSION_COOKIE_MISSING', () => {
  it('a Secure cookie on http (the old quick start) names the cause and the fix', async () => {
    const url = await cookieApp({ httpOnly: true, sameSite: 'lax', secure: true })
    const agent = new Agent(url)
    const authorization = await agent.startLogin()
    const res = await agent.finishLogin(authorization)
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('ERR_SESSION_COOKIE_MISSING')
    expect(body.message).toContain('the session cookie did not come back')
    expect(body.message).toContain('Secure (cookie.secure: true) but the app is served over http')
    expect(body.message).toContain("cookie.secure: 'auto'")
    expect(body.message).toContain('localhost vs 127.0.0.1')
    expect(body.message).toContain('SameSite=Strict')
    const callbackUrl = new URL(res.url)
    expectNoSecret(
      body.message,
      callbackUrl.searchParams.get('code')!,
      callbackUrl.searchParams.get('state')!,
    )
  })

  it('a login started on 127.0.0.1 that comes back to localhost', async () => {
    const app = await start({ as, publicHost: 'localhost' })
    const started = new Agent(app.url.replace('localhost', '127.0.0.1'))
    const authorization = await started.startLogin()
    expect(authorization.searchParams.get('redirect_uri')).toMatch(/^http:\/\/localhost:/)
    // The AS sends the browser to localhost, which has no cookie of the 127.0.0.1 session.
    const res = await new Agent(app.url).finishLogin(authorization)
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('ERR_SESSION_COOKIE_MISSING')
  })

  it('keeps ERR_STATE_UNKNOWN for a session that came back without that login', async () => {
    const app = await start({ as })
    const agent = new Agent(app.url)
    await agent.startLogin()
    const res = await agent.request('/callback?code=abc&state=another-state', {
      accept: 'application/json',
    })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('ERR_STATE_UNKNOWN')
    expect(body.message).toContain('no login in progress matches this response')
  })

  it('a session cookie whose session is gone from the store is ERR_STATE_UNKNOWN, saying so', async () => {
    const app = await start({ as })
    const agent = new Agent(app.url)
    const authorization = await agent.startLogin()
    await new Promise<void>((resolve, reject) =>
      app.store.clear?.((err) => (err ? reject(err as Error) : resolve())),
    )
    const res = await agent.finishLogin(authorization)
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('ERR_STATE_UNKNOWN')
    expect(body.message).toContain('the session of this login was not found')
  })
})

describe('a scope without offline_access', () => {
  it('warns once, at the first login, that there will be no refresh token', async () => {
    const warnings: string[] = []
    const app = await start({
      as,
      scope: 'openid profile email',
      auth: { logger: { warn: (message) => void warnings.push(message) } },
    })
    expect(warnings).toEqual([])
    await new Agent(app.url).login()
    await new Agent(app.url).login()
    const offline = warnings.filter((w) => w.includes('offline_access'))
    expect(offline).toHaveLength(1)
    expect(offline[0]).toContain('no refresh token')
    expect(offline[0]).toContain(
      'add offline_access to the scope (and allow the refresh_token grant)',
    )
  })

  it('does not warn when the scope has offline_access', async () => {
    const warnings: string[] = []
    const app = await start({
      as,
      auth: { logger: { warn: (message) => void warnings.push(message) } },
    })
    await new Agent(app.url).login()
    expect(warnings.filter((w) => w.includes('offline_access'))).toEqual([])
  })

  it('ERR_REFRESH_TOKEN_MISSING says to add offline_access when the token expires', async () => {
    const app = await start({ as, scope: 'openid profile email' })
    const agent = new Agent(app.url)
    await agent.login()
    const fresh = await agent.json('/token')
    expect(fresh.status).toBe(200)
    const accessToken: string = fresh.body.access_token
    await sleep(Math.max(0, fresh.body.exp * 1000 - Date.now()) + 1100)
    const expired = await agent.json('/token')
    expect(expired.status).toBe(401)
    expect(expired.body.code).toBe('ERR_REFRESH_TOKEN_MISSING')
    expect(expired.body.message).toContain(
      'add offline_access to the scope (and allow the refresh_token grant)',
    )
    expectNoSecret(expired.body.message, accessToken)
  })
})

describe('a redirectUri path longer than routes.callback', () => {
  it('is accepted (a mount path, a prefix-stripping proxy) and logged once when the mount path does not explain it', async () => {
    const warnings: string[] = []
    let url = ''
    const app = await start({
      as,
      auth: {
        logger: { warn: (message) => void warnings.push(message) },
        client: () =>
          createClient({
            issuer: as.issuer,
            clientId: localClients.webBasic.clientId,
            clientSecret: CLIENT_SECRET,
            redirectUri: `${url}/app/callback`,
          }),
      },
    })
    url = app.url
    const agent = new Agent(app.url)
    expect((await agent.request('/login')).status).toBe(302)
    expect((await agent.request('/login')).status).toBe(302)
    const redirect = warnings.filter((w) => w.includes('"redirectUri"'))
    expect(redirect).toEqual([
      `the path of the client's "redirectUri" (/app/callback) is not where this router serves its callback (/callback): the login fails unless a proxy strips the difference; check "redirectUri", "routes.callback" and the mount path`,
    ])
  })
})
