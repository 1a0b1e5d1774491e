import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { claimCheck, claimEquals, claimIncludes, requiresAuth } from '@codegrant/express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, authOf, startTestApp, type TestApp } from './express-harness.js'

let as: LocalAs
let app: TestApp
// When set, /login requests wait here (after express-session loaded the session) until `size`
// of them have arrived: they then all hold the same loaded copy.
let barrier: { size: number; waiting: Array<() => void> } | undefined

beforeAll(async () => {
  as = await startLocalAs()
  app = await startTestApp({
    as,
    before: (a) => {
      a.get('/login', async (_req, _res, next) => {
        const b = barrier
        if (b !== undefined) {
          await new Promise<void>((resolve) => {
            b.waiting.push(resolve)
            if (b.waiting.length >= b.size) for (const go of b.waiting) go()
          })
        }
        next()
      })
    },
    routes: (a) => {
      a.get('/verified', claimEquals('email_verified', true), (_req, res) => void res.send('ok'))
      a.get('/admins', claimIncludes('groups', 'admin'), (_req, res) => void res.send('ok'))
      a.get(
        '/named',
        claimCheck((c) => c.name === 'Nobody'),
        (_req, res) => void res.send('ok'),
      )
      a.post('/action', requiresAuth(), (_req, res) => void res.send('ok'))
      a.get('/userinfo', requiresAuth(), async (req, res, next) => {
        try {
          res.json(await authOf(req).fetchUserInfo())
        } catch (err) {
          next(err)
        }
      })
    },
  })
})
afterAll(async () => {
  await app?.close()
  await as?.close()
})

describe('login', () => {
  it('redirects to the AS with state, nonce and PKCE S256', async () => {
    const agent = new Agent(app.url)
    const url = await agent.startLogin()
    expect(url.origin).toBe(new URL(as.issuer).origin)
    expect(url.searchParams.get('response_type')).toBe('code')
    expect(url.searchParams.get('state')).toBeTruthy()
    expect(url.searchParams.get('nonce')).toBeTruthy()
    expect(url.searchParams.get('code_challenge')).toBeTruthy()
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('redirect_uri')).toBe(`${app.url}/callback`)
  })

  it('logs in under a new session id and exposes the claims, never the tokens', async () => {
    const agent = new Agent(app.url)
    await agent.startLogin()
    const before = agent.sessionCookie()
    expect(before).toBeDefined()
    const callback = await agent.login()
    expect(callback.status).toBe(302)
    expect(callback.location).toBe('/')
    const after = agent.sessionCookie()
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    const me = await agent.json('/me')
    expect(me.status).toBe(200)
    expect(me.body.sub).toBe('demo-user-1')
    expect(JSON.stringify(me.body)).not.toMatch(/eyJ|access_token|refresh_token/)
  })

  it('keeps tokens encrypted in the session store', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    const dump = await new Promise<string>((resolve, reject) =>
      app.store.all!((err, all) => (err ? reject(err) : resolve(JSON.stringify(all)))),
    )
    expect(dump).toMatch(/"user":"v1\./)
    expect(dump).not.toMatch(/refresh_token|access_token|eyJhbGci/)
  })

  it('completes two logins started in two tabs of one browser', async () => {
    const agent = new Agent(app.url)
    const tab1 = await agent.startLogin('/one')
    const tab2 = await agent.startLogin('/two')
    const first = await agent.finishLogin(tab1)
    expect(first.status).toBe(302)
    expect(first.location).toBe('/one')
    const second = await agent.finishLogin(tab2)
    expect(second.status).toBe(302)
    expect(second.location).toBe('/two')
    expect((await agent.json('/me')).status).toBe(200)
  })

  it('keeps logins started concurrently in one session (no lost transaction)', async () => {
    const agent = new Agent(app.url)
    const first = await agent.startLogin('/first')
    const [second, third] = await Promise.all([
      agent.startLogin('/second'),
      agent.startLogin('/third'),
    ])
    for (const [url, target] of [
      [third, '/third'],
      [first, '/first'],
      [second, '/second'],
    ] as const) {
      const callback = await agent.finishLogin(url)
      expect(callback.status).toBe(302)
      expect(callback.location).toBe(target)
    }
  })

  it('fetchUserInfo returns the UserInfo of the logged-in user', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    const res = await agent.json('/userinfo')
    expect(res.status).toBe(200)
    expect(res.body.sub).toBe('demo-user-1')
    expect(res.body.email).toBe('demo@example.com')
  })

  it('consumes a transaction exactly once (replayed callback refused)', async () => {
    const agent = new Agent(app.url)
    const response = await (
      await import('@codegrant/local-as')
    ).completeLogin(await agent.startLogin(), {
      cookieJar: agent.asJar,
    })
    const path = `${response.url.pathname}${response.url.search}`
    expect((await agent.request(path)).status).toBe(302)
    const replay = await agent.request(path, { accept: 'application/json' })
    expect(replay.status).toBe(400)
    expect((await replay.json()).code).toBe('ERR_STATE_UNKNOWN')
  })

  it('honours a same-origin returnTo and refuses open redirects', async () => {
    const ok = new Agent(app.url)
    expect((await ok.login('/profile?tab=1#x')).location).toBe('/profile?tab=1#x')
    for (const evil of [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example/',
      'http:/evil',
      '/a\r\nSet-Cookie: x=1',
      'javascript:alert(1)',
      '/%0d%0a',
    ]) {
      const agent = new Agent(app.url)
      const callback = await agent.login(evil)
      expect(callback.status).toBe(302)
      const location = callback.location ?? ''
      expect(location.startsWith('/')).toBe(true)
      expect(location.startsWith('//')).toBe(false)
      expect(location).not.toContain('\\')
      expect(new URL(location, app.url).origin).toBe(app.url)
      if (evil !== '/%0d%0a') expect(location).toBe('/')
    }
  })

  it('fails a callback with an unknown state with a typed 400 and no session', async () => {
    const agent = new Agent(app.url)
    const res = await agent.request('/callback?code=abc&state=nope', { accept: 'application/json' })
    expect(res.status).toBe(400)
    const body = await res.json()
    // No session cookie at all (see express-dx-errors.test.ts for a session without the login).
    expect(body.code).toBe('ERR_SESSION_COOKIE_MISSING')
    expect(res.headers.get('set-cookie')).toBeNull()
    expect((await agent.json('/me')).status).toBe(401)
  })

  it('fails a callback without state with ERR_STATE_MISSING', async () => {
    const res = await new Agent(app.url).request('/callback?code=abc', {
      accept: 'application/json',
    })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('ERR_STATE_MISSING')
  })

  it('passes an AS error (consent denied) to the error handler as ERR_ACCESS_DENIED 403', async () => {
    const agent = new Agent(app.url)
    const res = await agent.finishLogin(await agent.startLogin(), 'deny')
    expect(res.status).toBe(403)
    const body = await res.json()
    expect(body.code).toBe('ERR_ACCESS_DENIED')
    expect((await agent.json('/me')).status).toBe(401)
  })

  it('refuses a tampered code without creating a session and echoes nothing', async () => {
    const agent = new Agent(app.url)
    const { completeLogin } = await import('@codegrant/local-as')
    const response = await completeLogin(await agent.startLogin(), { cookieJar: agent.asJar })
    const url = new URL(response.url)
    url.searchParams.set('code', 'tampered-code-value')
    const res = await agent.request(`${url.pathname}${url.search}`, { accept: 'application/json' })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(JSON.parse(text).code).toBe('ERR_LOGIN_FAILED')
    expect(text).not.toContain('tampered-code-value')
    expect((await agent.json('/me')).status).toBe(401)
  })
})

describe('guards', () => {
  it('redirects a page request to login with returnTo', async () => {
    const res = await new Agent(app.url).request('/profile')
    expect(res.status).toBe(302)
    expect(res.location).toBe('/login?returnTo=%2Fprofile')
  })

  it('answers 401 JSON to JSON, XHR and non-GET requests, never a redirect', async () => {
    const agent = new Agent(app.url)
    const json = await agent.request('/profile', { accept: 'application/json' })
    expect(json.status).toBe(401)
    expect((await json.json()).error).toBe('unauthorized')
    const xhr = await agent.request('/profile', {
      headers: { 'x-requested-with': 'XMLHttpRequest' },
    })
    expect(xhr.status).toBe(401)
    const post = await agent.request('/action', { method: 'POST' })
    expect(post.status).toBe(401)
  })

  it('lets a logged-in user through and answers 403 on missing claims', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    expect((await agent.request('/profile')).status).toBe(200)
    expect((await agent.request('/verified')).status).toBe(200)
    const admins = await agent.request('/admins', { accept: 'application/json' })
    expect(admins.status).toBe(403)
    const named = await agent.request('/named')
    expect(named.status).toBe(403)
    expect((await named.json()).code).toBe('ERR_FORBIDDEN')
  })
})
