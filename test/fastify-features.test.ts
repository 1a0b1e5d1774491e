// The express-openid-connect features of the engine, wired by @codegrant/fastify, against the real
// local AS: login() / logout() from handlers with the plugin's routes off, local-only logout,
// afterCallback (enrich, refuse), and request.auth.user without protocol claims.
// (authRequired and attemptSilentLogin run for both adapters in auth-required / silent-login.)
import {
  AuthError,
  DEFAULT_IDENTITY_CLAIM_FILTER,
  claimIncludes,
  login,
  logout,
  type AfterCallback,
  type FastifyAuthOptions,
} from '@codegrant/fastify'
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COOKIE_NAME, startFastifyTestApp, type FastifyTestApp } from './fastify-harness.js'
import { Agent } from './support/agent.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as?.close()
})

async function withApp<T>(
  auth: Partial<FastifyAuthOptions>,
  run: (app: FastifyTestApp, agent: Agent) => Promise<T>,
): Promise<T> {
  const app = await startFastifyTestApp({ as, auth, routes })
  try {
    return await run(app, new Agent(app.url, COOKIE_NAME))
  } finally {
    await app.close()
  }
}

function routes(app: FastifyInstance): void {
  app.get('/sign-in', (request, reply) => {
    const to = (request.query as { to?: string }).to
    return login(request, reply, {
      ...(to !== undefined ? { returnTo: to } : {}),
      authorizationParams: { prompt: 'login', ui_locales: 'fr' },
    })
  })
  app.get('/sign-in-badly', (request, reply) => login(request, reply, { returnto: '/x' } as never))
  app.post('/sign-out', (request, reply) =>
    logout(
      request,
      reply,
      (request.query as { local?: string }).local === '1'
        ? { localLogout: true, returnTo: '/bye' }
        : {},
    ),
  )
  app.get('/admin', { onRequest: claimIncludes('roles', 'admin') }, async () => 'admin')
}

const off = { routes: { login: false, logout: false } } as const

describe('login() / logout() from handlers (routes off)', () => {
  it("login(): the AS with PKCE and the call's parameters, then returnTo; bad options refused", async () => {
    await withApp(off, async (_app, agent) => {
      expect((await agent.request('/login')).status).toBe(404)
      const started = await agent.request('/sign-in?to=%2Fdashboard%3Ftab%3D2')
      expect(started.status).toBe(302)
      expect(started.headers.get('cache-control')).toBe('no-store')
      const url = new URL(started.location!)
      expect(url.origin).toBe(new URL(as.issuer).origin)
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(url.searchParams.get('prompt')).toBe('login')
      expect(url.searchParams.get('ui_locales')).toBe('fr')
      const callback = await agent.finishLogin(url)
      expect(callback.location).toBe('/dashboard?tab=2')
      expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
      // A misspelt option is a TypeError naming it, before anything is sent.
      const bad = await agent.json('/sign-in-badly')
      expect(bad.status).toBe(500)
      expect(bad.body.message).toMatch(/returnto/)
    })
  })

  it('a guard starts the login itself when the login route is off', async () => {
    await withApp(off, async (_app, agent) => {
      const started = await agent.request('/profile')
      expect(new URL(started.location!).origin).toBe(new URL(as.issuer).origin)
      expect((await agent.finishLogin(new URL(started.location!))).location).toBe('/profile')
      expect((await agent.request('/profile')).status).toBe(200)
    })
  })

  it('logout(): to the AS end-session endpoint, or local only to returnTo; the session is gone', async () => {
    await withApp(off, async (_app, agent) => {
      expect((await agent.request('/logout')).status).toBe(404)
      await agent.finishLogin(new URL((await agent.request('/sign-in')).location!))
      const out = await agent.request('/sign-out', { method: 'POST' })
      const endSession = new URL(out.location!)
      expect(endSession.origin).toBe(new URL(as.issuer).origin)
      expect(endSession.searchParams.get('id_token_hint')).toBeTruthy()
      expect((await agent.json('/me')).status).toBe(401)
    })
    await withApp({ ...off, routes: { login: '/login', logout: false } }, async (_app, agent) => {
      await agent.login('/')
      const out = await agent.request('/sign-out?local=1', { method: 'POST' })
      expect(out.location).toBe('/bye')
      expect((await agent.json('/me')).status).toBe(401)
    })
  })

  it('localLogout as the default: GET /logout ends only the local session', async () => {
    await withApp({ localLogout: true }, async (_app, agent) => {
      await agent.login('/')
      const out = await agent.request('/logout')
      expect(out.location).toBe('/')
      expect((await agent.json('/me')).status).toBe(401)
    })
  })
})

describe('afterCallback', () => {
  it('its claims join the user and the guards', async () => {
    const seen: string[] = []
    const afterCallback: AfterCallback = ({ claims, tokens }) => {
      seen.push(String(claims.sub), typeof tokens.access_token)
      return { roles: ['admin'] }
    }
    await withApp({ afterCallback }, async (_app, agent) => {
      expect((await agent.request('/admin')).status).toBe(302)
      await agent.login('/')
      expect(seen).toEqual(['demo-user-1', 'string'])
      expect((await agent.json('/me')).body.claims.roles).toEqual(['admin'])
      expect((await agent.request('/admin')).status).toBe(200)
    })
  })

  it('a throw refuses the login: 403 ERR_LOGIN_REFUSED, nothing echoed, no session', async () => {
    const afterCallback = () => {
      throw new Error('user demo-user-1 is suspended (internal detail)')
    }
    await withApp({ afterCallback }, async (_app, agent) => {
      const callback = await agent.login()
      expect(callback.status).toBe(403)
      // The plugin's routes answer with Fastify's error handler of their scope: { statusCode, code, error, message }.
      expect(await callback.json()).toMatchObject({
        code: 'ERR_LOGIN_REFUSED',
        message: 'Login refused by the application',
      })
      expect((await agent.json('/me')).status).toBe(401)
    })
  })

  it('its own AuthError passes as it is', async () => {
    const afterCallback = () => {
      throw new AuthError('ERR_STORE_UNAVAILABLE', 'The user database is unavailable')
    }
    await withApp({ afterCallback }, async (_app, agent) => {
      const callback = await agent.login()
      expect(callback.status).toBe(503)
      expect(((await callback.json()) as { code: string }).code).toBe('ERR_STORE_UNAVAILABLE')
    })
  })
})

describe('request.auth.user', () => {
  it('holds who the user is without the protocol claims, which stay in idTokenClaims', async () => {
    await withApp({}, async (_app, agent) => {
      await agent.login()
      const { body } = await agent.json('/me')
      expect(body.claims).toMatchObject({ sub: 'demo-user-1', email: 'demo@example.com' })
      for (const name of DEFAULT_IDENTITY_CLAIM_FILTER) expect(body.claims).not.toHaveProperty(name)
      expect(body.idTokenClaims).toMatchObject({ iss: as.issuer, nonce: expect.any(String) })
    })
  })
})
