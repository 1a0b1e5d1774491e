// authRequired: every route behind auth() / fastifyAuth needs a login, except their own routes;
// the same suite against @codegrant/express and @codegrant/fastify.
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEB_FRAMEWORKS, type WebTestApp } from './web-frameworks.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as?.close()
})

describe.each(WEB_FRAMEWORKS)('authRequired ($name)', (framework) => {
  async function withApp<T>(
    options: Parameters<typeof framework.start>[0] extends infer O ? Omit<O, 'as'> : never,
    run: (app: WebTestApp) => Promise<T>,
  ): Promise<T> {
    const app = await framework.start({ as, ...options })
    try {
      return await run(app)
    } finally {
      await app.close()
    }
  }

  it('sends a page request to log in and answers 401 to JSON, on every app route', async () => {
    await withApp({ auth: { authRequired: true } }, async (app) => {
      const agent = framework.agent(app)
      const home = await agent.request('/?x=1')
      expect(home.status).toBe(302)
      expect(home.location).toBe('/login?returnTo=%2F%3Fx%3D1')
      const other = await agent.request('/no-such-page')
      expect(other.location).toBe('/login?returnTo=%2Fno-such-page')
      expect((await agent.json('/me')).status).toBe(401)
      expect((await agent.request('/', { method: 'POST' })).status).toBe(401)
    })
  })

  it("leaves auth()'s own routes alone, so the login completes", async () => {
    await withApp({ auth: { authRequired: true } }, async (app) => {
      const agent = framework.agent(app)
      // Express routes /LOGIN and /login/ to the login route too; Fastify does not (by default).
      for (const path of framework.lenientRouting ? ['/login', '/LOGIN', '/login/'] : ['/login']) {
        const res = await agent.request(path)
        await res.body?.cancel()
        expect(new URL(res.location!).origin).toBe(new URL(as.issuer).origin)
      }
      const callback = await agent.login('/profile')
      expect(callback.status).toBe(302)
      expect(callback.location).toBe('/profile')
      const profile = await agent.request('/profile')
      expect(profile.status).toBe(200)
      expect(await profile.text()).toBe('profile of demo-user-1')
      expect((await agent.request('/')).status).toBe(200)
      // Back-channel logout answers for itself (400 without a logout token), not "log in".
      const backchannel = await framework.agent(app).request('/backchannel-logout', {
        method: 'POST',
        body: new URLSearchParams(),
      })
      expect(backchannel.status).toBe(400)
      // Logout is reachable without a login.
      const out = await framework.agent(app).request('/logout')
      expect(out.status).toBe(302)
      expect(out.location).toBe('/')
    })
  })

  it('starts the login itself when the login route is off', async () => {
    await withApp({ auth: { authRequired: true, routes: { login: false } } }, async (app) => {
      const agent = framework.agent(app)
      const started = await agent.request('/profile')
      await started.body?.cancel()
      const url = new URL(started.location!)
      expect(url.origin).toBe(new URL(as.issuer).origin)
      const callback = await agent.finishLogin(url)
      expect(callback.location).toBe('/profile')
      expect((await agent.request('/profile')).status).toBe(200)
    })
  })

  it('is off by default: public routes stay public', async () => {
    await withApp({}, async (app) => {
      const res = await framework.agent(app).request('/')
      expect(res.status).toBe(200)
    })
  })

  it('is refused when not a boolean', async () => {
    await expect(
      withApp({ auth: { authRequired: 'yes' as unknown as boolean } }, async () => {}),
    ).rejects.toThrow(`${framework.factory}: "authRequired" must be a boolean`)
  })
})
