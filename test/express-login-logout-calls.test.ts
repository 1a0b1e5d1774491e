// login(req, res) / logout(req, res) from the app's handlers with auth()'s routes turned off, and
// local-only logout (per call and as the default), against the real local AS.
import { login, logout, requiresAuth } from '@codegrant/express'
import { localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, startTestApp, type TestApp } from './express-harness.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as?.close()
})

async function withApp<T>(
  options: Omit<Parameters<typeof startTestApp>[0], 'as'>,
  run: (app: TestApp) => Promise<T>,
): Promise<T> {
  const app = await startTestApp({ as, ...options })
  try {
    return await run(app)
  } finally {
    await app.close()
  }
}

const routes: Parameters<typeof startTestApp>[0]['routes'] = (a) => {
  a.get('/sign-in', (req, res, next) => {
    const returnTo = typeof req.query.to === 'string' ? req.query.to : undefined
    login(req, res, {
      ...(returnTo !== undefined ? { returnTo } : {}),
      authorizationParams: { prompt: 'login', ui_locales: 'fr' },
    }).catch(next)
  })
  a.get('/sign-in-badly', (req, res, next) => {
    login(req, res, { returnto: '/x' } as never).catch(next)
  })
  a.post('/sign-out', (req, res, next) => {
    logout(req, res, req.query.local === '1' ? { localLogout: true, returnTo: '/bye' } : {}).catch(
      next,
    )
  })
  a.get('/guarded', requiresAuth(), (_req, res) => void res.send('guarded'))
}

const off = { routes: { login: false, logout: false } } as const

/** Follows a started login (a 302 to the AS) to the callback's response. */
async function finish(agent: Agent, started: Response & { location: string | null }) {
  await started.body?.cancel()
  expect(started.status).toBe(302)
  return agent.finishLogin(new URL(started.location!))
}

describe('login(req, res) with routes.login: false', () => {
  it("sends the browser to the AS with PKCE, state and the call's parameters, then to returnTo", async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const agent = new Agent(app.url)
      expect((await agent.request('/login')).status).toBe(404)
      const started = await agent.request('/sign-in?to=%2Fdashboard%3Ftab%3D2')
      const url = new URL(started.location!)
      expect(url.origin).toBe(new URL(as.issuer).origin)
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(url.searchParams.get('state')).toBeTruthy()
      expect(url.searchParams.get('prompt')).toBe('login')
      expect(url.searchParams.get('ui_locales')).toBe('fr')
      expect(started.headers.get('cache-control')).toBe('no-store')
      const callback = await finish(agent, started)
      expect(callback.status).toBe(302)
      expect(callback.location).toBe('/dashboard?tab=2')
      expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
    })
  })

  it('pushes the request (PAR) for a client that must, and completes the login', async () => {
    // web-par: the local AS refuses its authorization requests unless they were pushed.
    const par = {
      clientId: localClients.webPar.clientId,
      clientSecret: localClients.webPar.clientSecret,
      usePar: true,
    }
    await withApp({ routes, auth: off, ...par }, async (app) => {
      const agent = new Agent(app.url)
      const started = await agent.request('/sign-in?to=%2Fpushed')
      const url = new URL(started.location!)
      expect(url.origin).toBe(new URL(as.issuer).origin)
      // Only client_id and request_uri in the browser's URL: state and the PKCE challenge went to
      // the PAR endpoint (the callback's state check and the AS's PKCE check pass below).
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
      const callback = await finish(agent, started)
      expect(callback.status).toBe(302)
      expect(callback.location).toBe('/pushed')
      expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
    })
  })

  it('applies the returnTo rules: another origin falls back to defaultReturnTo', async () => {
    await withApp({ routes, auth: { ...off, defaultReturnTo: '/home' } }, async (app) => {
      const agent = new Agent(app.url)
      for (const to of ['//evil.example/x', 'https://evil.example/', '/\\evil']) {
        const callback = await finish(
          agent,
          await agent.request(`/sign-in?to=${encodeURIComponent(to)}`),
        )
        expect(callback.location).toBe('/home')
      }
    })
  })

  it('keeps one login in progress per call (two tabs)', async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const agent = new Agent(app.url)
      const one = await agent.request('/sign-in?to=%2Fone')
      const two = await agent.request('/sign-in?to=%2Ftwo')
      expect((await finish(agent, one)).location).toBe('/one')
      expect((await finish(agent, two)).location).toBe('/two')
    })
  })

  it('guards start the login themselves when the login route is off', async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const agent = new Agent(app.url)
      const started = await agent.request('/guarded')
      expect(new URL(started.location!).origin).toBe(new URL(as.issuer).origin)
      const callback = await finish(agent, started)
      expect(callback.location).toBe('/guarded')
      expect((await agent.request('/guarded')).status).toBe(200)
      // A JSON request still gets 401, not a redirect.
      expect((await new Agent(app.url).json('/guarded')).status).toBe(401)
    })
  })

  // Regression: core takes these by name and refused them in authorizationParams (a TypeError at
  // every login), though the README named prompt as an example.
  it('sends prompt, login_hint and max_age of the configured authorizationParams', async () => {
    const authorizationParams = { prompt: 'consent', login_hint: 'demo', max_age: '600' }
    await withApp({ auth: { authorizationParams } }, async (app) => {
      const url = await new Agent(app.url).startLogin()
      expect(url.searchParams.get('prompt')).toBe('consent')
      expect(url.searchParams.get('login_hint')).toBe('demo')
      expect(url.searchParams.get('max_age')).toBe('600')
    })
  })

  it('names a misspelt option', async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const res = await new Agent(app.url).json('/sign-in-badly')
      expect(res.status).toBe(500)
      expect(res.body.message).toContain('login(): unknown option "returnto"')
    })
  })
})

describe('logout(req, res) with routes.logout: false', () => {
  it('ends the session at the app and at the AS (end_session_endpoint)', async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const agent = new Agent(app.url)
      await finish(agent, await agent.request('/sign-in'))
      expect((await agent.request('/logout', { method: 'POST' })).status).toBe(404)
      as.resetCounts()
      const out = await agent.request('/sign-out', { method: 'POST' })
      expect(out.status).toBe(302)
      const end = new URL(out.location!)
      expect(end.origin).toBe(new URL(as.issuer).origin)
      expect(end.searchParams.get('id_token_hint')).toBeTruthy()
      expect((await agent.json('/me')).status).toBe(401)
      expect(as.events.some((e) => e.name === 'grant.revoked')).toBe(true)
    })
  })

  it('localLogout: ends the local session only (revoked), back to returnTo, the AS session stays', async () => {
    await withApp({ routes, auth: off }, async (app) => {
      const agent = new Agent(app.url)
      await finish(agent, await agent.request('/sign-in'))
      as.resetCounts()
      const out = await agent.request('/sign-out?local=1', { method: 'POST' })
      expect(out.status).toBe(302)
      expect(out.location).toBe('/bye')
      expect((await agent.json('/me')).status).toBe(401)
      expect(as.events.some((e) => e.name === 'grant.revoked')).toBe(true)
      // Still logged in at the AS: prompt=none is not answered login_required (the revoked grant
      // makes oidc-provider ask for consent again: consent_required).
      const started = await agent.request('/guarded')
      await started.body?.cancel()
      const url = new URL(started.location!)
      url.searchParams.set('prompt', 'none')
      const silent = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: agent.asJar.header(url) ?? '' },
      })
      const back = new URL(silent.headers.get('location')!, url)
      expect(back.searchParams.get('error')).toBe('consent_required')
    })
  })
})

describe('the localLogout option', () => {
  it('makes /logout local: no end_session redirect, logoutReturnTo instead', async () => {
    await withApp({ auth: { localLogout: true, logoutReturnTo: '/signed-out' } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const out = await agent.request('/logout')
      expect(out.status).toBe(302)
      expect(out.location).toBe('/signed-out')
      expect((await agent.json('/me')).status).toBe(401)
    })
  })

  it('is refused when not a boolean', async () => {
    await expect(
      withApp({ auth: { localLogout: 'yes' as unknown as boolean } }, async () => {}),
    ).rejects.toThrow('auth(): "localLogout" must be a boolean')
  })
})
