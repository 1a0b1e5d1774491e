// @codegrant/fastify on @fastify/secure-session (sessions in an encrypted cookie, no server-side
// store) against the real local AS: the same routes, guards, refresh and logout as on
// @fastify/session, and the refusals where a cookie cannot give a guarantee.
import {
  createMemoryLock,
  createMemorySessionIndex,
  fastifyAuth,
  isAuthError,
} from '@codegrant/fastify'
import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import fastifyCookie from '@fastify/cookie'
import fastifySecureSession from '@fastify/secure-session'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  newKey,
  SECURE_COOKIE_NAME,
  startSecureTestApp,
  TOKEN_SECRET,
  type SecureTestApp,
} from './fastify-secure-session-harness.js'
import { Agent, atSecondStart, sleep } from './support/agent.js'
import { addBackchannelClient } from './support/local-as.js'

let as: LocalAs
const apps: SecureTestApp[] = []

async function start(
  options: Omit<Parameters<typeof startSecureTestApp>[0], 'as'> = {},
): Promise<SecureTestApp> {
  const app = await startSecureTestApp({ as, ...options })
  apps.push(app)
  return app
}

beforeAll(async () => {
  // 2 s access tokens: refreshes within a test; rotating refresh tokens (the local AS default).
  as = await startLocalAs({ ttl: { AccessToken: 2 } })
})
afterAll(async () => {
  for (const app of apps) await app.close()
  await as?.close()
})

interface Decoded {
  get(key: string): unknown
}

/** The agent's cookie, opened with the app's @fastify/secure-session key. */
function openCookie(app: SecureTestApp, agent: Agent): Decoded | null {
  const cookie = agent.sessionCookie()
  if (cookie === undefined) return null
  const decode = (
    app.app as unknown as { decodeSecureSession(cookie: string): Decoded | null }
  ).decodeSecureSession.bind(app.app)
  return decode(decodeURIComponent(cookie))
}

const sectionOf = (app: SecureTestApp, agent: Agent) =>
  openCookie(app, agent)?.get('codegrant') as
    { id?: string; user?: { tokens: { access_token: string } }; logins?: object } | undefined

/** The Set-Cookie header of the app's session cookie in a response, if any. */
const sessionSetCookie = (res: Response) =>
  res.headers.getSetCookie().find((c) => c.startsWith(`${SECURE_COOKIE_NAME}=`))

describe('@codegrant/fastify on @fastify/secure-session: login', () => {
  it('GET callback: logs in, the cookie is encrypted, the session id changes (fixation defence)', async () => {
    const app = await start({
      routes: (fastify) =>
        fastify.get('/mark', async (request) => {
          ;(request.session as unknown as { set(k: string, v: unknown): void }).set('app', 'before')
          return 'ok'
        }),
    })
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await (await agent.request('/mark')).text()
    const authorizationUrl = await agent.startLogin('/profile')
    const before = sectionOf(app, agent)
    expect(before?.id).toEqual(expect.any(String))
    const callback = await agent.finishLogin(authorizationUrl)
    expect(callback.status).toBe(302)
    expect(callback.location).toBe('/profile')
    const after = openCookie(app, agent)
    const section = after?.get('codegrant') as { id: string; logins?: object }
    expect(section.id).not.toBe(before?.id)
    expect(after?.get('app')).toBeUndefined()
    expect(section.logins).toBeUndefined()
    const me = await agent.json('/me')
    expect(me.status).toBe(200)
    expect(me.body.sub).toBe('demo-user-1')
    const token = (await agent.json('/token')).body.access_token as string
    // Encrypted: neither the token nor a JWT (its header, `{"alg":...`) shows in the cookie. (A
    // shorter pattern such as `eyJ` would match random base64 now and then.)
    const raw = decodeURIComponent(agent.sessionCookie()!)
    expect(raw).not.toContain(token)
    expect(raw).not.toMatch(/eyJhbGciOi|refresh_token/)
    expect(raw.length).toBeLessThan(4032)
  })

  it('form_post callback: the login completes through POST /callback', async () => {
    const app = await start({ auth: { responseMode: 'form_post' } })
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    const authorizationUrl = await agent.startLogin('/profile')
    expect(authorizationUrl.searchParams.get('response_mode')).toBe('form_post')
    const callback = await agent.finishLogin(authorizationUrl)
    expect(callback.status).toBe(302)
    expect(callback.location).toBe('/profile')
    expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
  })

  it('multi-tab: two logins in progress both complete; a third tab after a fourth and a fifth is dropped (bounded)', async () => {
    const app = await start()
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    const first = await agent.startLogin('/one')
    const second = await agent.startLogin('/two')
    expect((await agent.finishLogin(second)).location).toBe('/two')
    // The first tab's login moved along with the new session.
    expect((await agent.finishLogin(first)).location).toBe('/one')
    expect((await agent.json('/me')).status).toBe(200)

    const other = new Agent(app.url, SECURE_COOKIE_NAME)
    const urls: URL[] = []
    for (let i = 0; i < 5; i++) urls.push(await other.startLogin(`/tab${i}`))
    // maxTransactions is 3 with cookie sessions: the two oldest were dropped.
    expect(Object.keys(sectionOf(app, other)?.logins ?? {})).toHaveLength(3)
    expect(decodeURIComponent(other.sessionCookie()!).length).toBeLessThan(4032)
    const dropped = await other.finishLogin(urls[0]!)
    expect(dropped.status).toBe(400)
    expect((await dropped.json()).code).toBe('ERR_STATE_UNKNOWN')
    expect((await other.finishLogin(urls[4]!)).location).toBe('/tab4')
  })

  it('a tampered cookie reads as logged out (no error); the callback explains it', async () => {
    const app = await start()
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    const cookie = decodeURIComponent(agent.sessionCookie()!)
    const flipped = (cookie[10] === 'A' ? 'B' : 'A') + ''
    const tampered = cookie.slice(0, 10) + flipped + cookie.slice(11)
    const res = await fetch(`${app.url}/me`, {
      headers: {
        cookie: `${SECURE_COOKIE_NAME}=${encodeURIComponent(tampered)}`,
        accept: 'application/json',
      },
    })
    expect(res.status).toBe(401)
    const page = await fetch(`${app.url}/profile`, {
      headers: { cookie: `${SECURE_COOKIE_NAME}=${encodeURIComponent(tampered)}` },
      redirect: 'manual',
    })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile')
    const callback = await fetch(`${app.url}/callback?state=abc&code=def`, {
      headers: {
        cookie: `${SECURE_COOKIE_NAME}=${encodeURIComponent(tampered)}`,
        accept: 'application/json',
      },
    })
    expect(callback.status).toBe(400)
    expect((await callback.json()).code).toBe('ERR_STATE_UNKNOWN')
  })

  it('a cookie sealed with a key no longer configured reads as logged out; a rotated key array still opens it', async () => {
    const oldKey = newKey()
    const a = await start({ key: oldKey })
    const agent = new Agent(a.url, SECURE_COOKIE_NAME)
    await agent.login()
    const cookie = agent.sessionCookie()!
    const ask = (url: string) =>
      fetch(`${url}/me`, {
        headers: { cookie: `${SECURE_COOKIE_NAME}=${cookie}`, accept: 'application/json' },
      })
    const unknown = await start({ key: newKey() })
    expect((await ask(unknown.url)).status).toBe(401)
    const rotated = await start({ key: [newKey(), oldKey] })
    const res = await ask(rotated.url)
    expect(res.status).toBe(200)
    // Re-encrypted with the new key on its way back.
    expect(sessionSetCookie(res)).toBeDefined()
  })

  it('oversize: a login whose record would not fit fails closed with ERR_SESSION_TOO_LARGE (no token in the message, no cookie written)', async () => {
    const app = await start({
      auth: { afterCallback: () => ({ claims: { notes: 'x'.repeat(3000) } }) },
    })
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    const authorizationUrl = await agent.startLogin('/profile')
    const before = agent.sessionCookie()
    const callback = await agent.finishLogin(authorizationUrl)
    expect(callback.status).toBe(500)
    expect(sessionSetCookie(callback)).toBeUndefined()
    const body = (await callback.json()) as { code: string; message: string }
    expect(body.code).toBe('ERR_SESSION_TOO_LARGE')
    expect(body.message).toMatch(/would be \d+ bytes, over the 4032/)
    expect(body.message).not.toMatch(/eyJ|xxxx/)
    expect(agent.sessionCookie()).toBe(before)
    expect((await agent.json('/me')).status).toBe(401)
  })
})

describe('@codegrant/fastify on @fastify/secure-session: guards and requests', () => {
  let app: SecureTestApp
  beforeAll(async () => {
    app = await start()
  })

  it('requiresAuth(): a page is redirected to log in, JSON gets 401', async () => {
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    const page = await agent.request('/profile')
    expect(page.status).toBe(302)
    expect(page.location).toBe('/login?returnTo=%2Fprofile')
    const json = await agent.request('/profile', { accept: 'application/json' })
    expect(json.status).toBe(401)
    await agent.login()
    const ok = await agent.request('/profile')
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('profile of demo-user-1')
  })

  it('a request that changes nothing sends no Set-Cookie (it cannot clobber newer tokens)', async () => {
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    for (const path of ['/me', '/profile', '/token']) {
      const res = await agent.request(path, { accept: 'application/json' })
      expect(res.status).toBe(200)
      expect(sessionSetCookie(res)).toBeUndefined()
    }
  })
})

describe('@codegrant/fastify on @fastify/secure-session: refresh with rotation', () => {
  let app: SecureTestApp
  beforeAll(async () => {
    app = await start()
  })

  it('concurrent requests carrying the same expired cookie: one refresh grant, every one 200', async () => {
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    await sleep(1300)
    await atSecondStart()
    as.resetCounts()
    const results = await Promise.all(Array.from({ length: 8 }, () => agent.json('/token')))
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200))
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(new Set(results.map((r) => r.body.access_token)).size).toBe(1)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
    // The cookie the browser kept holds the new tokens.
    expect(sectionOf(app, agent)?.user?.tokens.access_token).toBe(results[0]!.body.access_token)
  })

  it('simultaneous forced refreshes with the same cookie: one grant (the handoff), no invalid_grant', async () => {
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    await atSecondStart()
    as.resetCounts()
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        agent.request('/token/refresh', { method: 'POST', accept: 'application/json' }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(4).fill(200))
    const tokens = await Promise.all(results.map(async (r) => (await r.json()).access_token))
    expect(new Set(tokens).size).toBe(1)
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(as.events.filter((e) => e.name === 'grant.error')).toEqual([])
    // The next refresh uses the rotated refresh token from the cookie.
    const next = await agent.request('/token/refresh', {
      method: 'POST',
      accept: 'application/json',
    })
    expect(next.status).toBe(200)
    expect(as.grantCount('refresh_token')).toBe(2)
  })
})

describe('@codegrant/fastify on @fastify/secure-session: logout', () => {
  it('GET /logout clears the cookie and redirects to the AS with id_token_hint', async () => {
    const app = await start()
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    const res = await agent.request('/logout')
    expect(res.status).toBe(302)
    const location = new URL(res.location!)
    expect(`${location.origin}${location.pathname}`).toBe(`${as.issuer}/session/end`)
    expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/)
    const cleared = sessionSetCookie(res)
    expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/)
    expect((await agent.json('/me')).status).toBe(401)
  })

  it('back-channel logout with a session index: the next request with the cookie is logged out', async () => {
    const clientId = 'web-secure-backchannel'
    const index = createMemorySessionIndex()
    // A cookie session cannot be ended by id, so a login adds nothing to the index.
    let added = 0
    const sessionIndex: typeof index = {
      ...index,
      add: (...args) => {
        added += 1
        return index.add(...args)
      },
    }
    const app = await start({
      clientId,
      clientSecret: `${clientId}-secret-for-local-tests-only`,
      auth: { routes: { backchannelLogout: '/backchannel-logout' }, sessionIndex },
    })
    await addBackchannelClient(as, {
      clientId,
      clientSecret: `${clientId}-secret-for-local-tests-only`,
      backchannelLogoutUri: `${app.url}/backchannel-logout`,
    })
    const agent = new Agent(app.url, SECURE_COOKIE_NAME)
    await agent.login()
    expect(added).toBe(0)
    // A copy of the cookie (another tab, or a stale copy): it must be logged out too.
    const copy = agent.sessionCookie()!
    expect((await agent.json('/me')).status).toBe(200)
    await completeLogout(`${as.issuer}/session/end`, { cookieJar: agent.asJar })
    const deadline = Date.now() + 5000
    while (!as.events.some((e) => e.name === 'backchannel.success') && Date.now() < deadline)
      await sleep(50)
    expect(as.events.some((e) => e.name === 'backchannel.success')).toBe(true)
    expect((await agent.json('/me')).status).toBe(401)
    const stale = await fetch(`${app.url}/me`, {
      headers: { cookie: `${SECURE_COOKIE_NAME}=${copy}`, accept: 'application/json' },
    })
    expect(stale.status).toBe(401)
    // A new login (a new AS session, a new sid) is not affected.
    await agent.login()
    expect((await agent.json('/me')).status).toBe(200)
  })
})

describe('@codegrant/fastify on @fastify/secure-session: refused at registration', () => {
  const base = (): FastifyInstance => Fastify()
  const client = async () => {
    throw new Error('not called')
  }
  const secure = async (fastify: FastifyInstance, options: object = {}) => {
    await fastify.register(fastifyCookie)
    await fastify.register(fastifySecureSession, { key: newKey(), ...options })
  }

  it('back-channel logout (on by default) without a session index', async () => {
    const fastify = base()
    await secure(fastify)
    await expect(
      fastify.register(fastifyAuth, { client, secret: TOKEN_SECRET }).ready(),
    ).rejects.toThrow(/back-channel logout .* cannot delete a cookie session .*"sessionIndex"/)
    await fastify.close()
  })

  it('back-channel logout without absoluteDuration', async () => {
    const fastify = base()
    await secure(fastify)
    await expect(
      fastify
        .register(fastifyAuth, {
          client,
          secret: TOKEN_SECRET,
          sessionIndex: createMemorySessionIndex(),
          absoluteDuration: false,
        })
        .ready(),
    ).rejects.toThrow(/needs "absoluteDuration"/)
    await fastify.close()
  })

  it('a shared lock without refreshHandoff', async () => {
    const fastify = base()
    await secure(fastify)
    await expect(
      fastify
        .register(fastifyAuth, {
          client,
          secret: TOKEN_SECRET,
          routes: { backchannelLogout: false },
          lock: createMemoryLock(),
        })
        .ready(),
    ).rejects.toThrow(/a shared "lock" with cookie sessions .* needs "refreshHandoff"/)
    await fastify.close()
  })

  it('both session plugins, or secure-session under another sessionName', async () => {
    const both = base()
    await both.register(fastifyCookie)
    await both.register(fastifySession, { secret: 'x'.repeat(32) })
    await both.register(fastifySecureSession, { key: newKey(), sessionName: 'secure' })
    await expect(
      both.register(fastifyAuth, { client, secret: TOKEN_SECRET }).ready(),
    ).rejects.toThrow(/both @fastify\/session and @fastify\/secure-session are registered/)
    await both.close()

    const renamed = base()
    await secure(renamed, { sessionName: 'secure' })
    await expect(
      renamed.register(fastifyAuth, { client, secret: TOKEN_SECRET }).ready(),
    ).rejects.toThrow(/"sessionName" other than "session"/)
    await renamed.close()
  })

  it('a refreshHandoff that is not one', async () => {
    const fastify = base()
    await secure(fastify)
    await expect(
      fastify
        .register(fastifyAuth, {
          client,
          secret: TOKEN_SECRET,
          routes: { backchannelLogout: false },
          refreshHandoff: {} as never,
        })
        .ready(),
    ).rejects.toThrow(/"refreshHandoff" must be a RefreshHandoff/)
    await fastify.close()
  })

  it('refreshHandoff with @fastify/session', async () => {
    const fastify = base()
    await fastify.register(fastifyCookie)
    await fastify.register(fastifySession, { secret: 'x'.repeat(32) })
    await expect(
      fastify
        .register(fastifyAuth, {
          client,
          secret: TOKEN_SECRET,
          refreshHandoff: { put: async () => undefined, get: async () => undefined },
        })
        .ready(),
    ).rejects.toThrow(/"refreshHandoff" is for cookie sessions/)
    await fastify.close()
  })

  it('@fastify/secure-session without a key fails at ready, before any request', async () => {
    const fastify = base()
    await fastify.register(fastifyCookie)
    await expect(
      fastify
        .register(fastifySecureSession, {} as unknown as { key: Buffer })
        .register(fastifyAuth, { client, secret: TOKEN_SECRET })
        .ready(),
    ).rejects.toThrow(/key or secret must specified/)
    await fastify.close()
  })

  it('every refusal is a TypeError (misuse), never an AuthError', async () => {
    const fastify = base()
    await secure(fastify)
    const err = await fastify
      .register(fastifyAuth, { client, secret: TOKEN_SECRET })
      .ready()
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(err).toBeInstanceOf(TypeError)
    expect(isAuthError(err)).toBe(false)
    await fastify.close()
  })
})
