// authRequired: every route behind auth() needs a login, except auth()'s own routes.
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
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

describe('authRequired', () => {
  it('sends a page request to log in and answers 401 to JSON, on every app route', async () => {
    await withApp({ auth: { authRequired: true } }, async (app) => {
      const agent = new Agent(app.url)
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
      const agent = new Agent(app.url)
      for (const path of ['/login', '/LOGIN', '/login/']) {
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
      const backchannel = await new Agent(app.url).request('/backchannel-logout', {
        method: 'POST',
        body: new URLSearchParams(),
      })
      expect(backchannel.status).toBe(400)
      // Logout is reachable without a login.
      const out = await new Agent(app.url).request('/logout')
      expect(out.status).toBe(302)
      expect(out.location).toBe('/')
    })
  })

  it('starts the login itself when the login route is off', async () => {
    await withApp({ auth: { authRequired: true, routes: { login: false } } }, async (app) => {
      const agent = new Agent(app.url)
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
      const res = await new Agent(app.url).request('/')
      expect(res.status).toBe(200)
    })
  })

  it('is refused when not a boolean', async () => {
    await expect(
      withApp({ auth: { authRequired: 'yes' as unknown as boolean } }, async () => {}),
    ).rejects.toThrow('auth(): "authRequired" must be a boolean')
  })
})
