// auth()'s direct dispatch: a request none of the router's routes can match runs its per-request
// middleware and goes on without the router's route matching; every other request is
// dispatched by Express's Router exactly as before.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import type * as core from '@codegrant/core'
import express from 'express'
import session from 'express-session'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { auth, type AuthOptions, type RequestAuth } from '../src/index.js'

const SECRET = 'dispatch-test-secret-0123456789abcdef-xyz'
const fakeClient = Object.freeze({
  issuer: 'https://as.example',
  clientId: 'rp',
  redirectUri: 'http://127.0.0.1/callback',
  metadata: Object.freeze({}),
}) as unknown as core.Client

const servers: Server[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/**
 * An app with auth() and a catch-all that names the path and whether `req.auth` was set;
 * `routed: true` appends a pass-through layer to auth()'s router, which turns direct dispatch
 * off (the router then dispatches every request, as Express always did).
 */
async function start(routed: boolean, options: Partial<AuthOptions> = {}): Promise<string> {
  const app = express()
  app.use(session({ secret: 's', resave: false, saveUninitialized: false }))
  const router = auth({ client: fakeClient, secret: SECRET, ...options })
  if (routed) router.use((_req, _res, next) => next())
  app.use(router)
  app.use((req, res) => {
    const a = (req as unknown as { auth?: RequestAuth }).auth
    res.status(200).json({ app: req.path, auth: a?.isAuthenticated === false })
  })
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const e = err as { status?: number; code?: string }
      res.status(e.status ?? 500).json({ error: e.code ?? 'unknown' })
    },
  )
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function answer(base: string, method: string, path: string) {
  const res = await fetch(`${base}${path}`, { method, redirect: 'manual' })
  const text = await res.text()
  return {
    status: res.status,
    location: res.headers.get('location'),
    allow: res.headers.get('allow'),
    text,
  }
}

/** Router.prototype (a router is a function whose prototype is its own Router instance). */
function routerPrototype(): { handle: () => void } {
  return Object.getPrototypeOf(Object.getPrototypeOf(express.Router())) as { handle: () => void }
}

const PATHS = [
  '/',
  '/me',
  '/me/',
  '/login',
  '/LOGIN',
  '/Login/',
  '/login/extra',
  '/loginx',
  '/%6Cogin',
  '/callback',
  '/CALLBACK/?code=c&state=s',
  '/logout',
  '/logout/',
  '/logout//',
  '/backchannel-logout',
  '/auth/login',
  '/sign-in',
]
const METHODS = ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT']

describe('auth() dispatch', () => {
  it('answers every method and path exactly as the router dispatching every request does', async () => {
    const direct = await start(false)
    const routed = await start(true)
    for (const method of METHODS) {
      for (const path of PATHS) {
        const [a, b] = await Promise.all([
          answer(direct, method, path),
          answer(routed, method, path),
        ])
        expect({ method, path, ...a }).toEqual({ method, path, ...b })
      }
    }
    // The catch-all saw req.auth on a path that is not a route, and the login route answered
    // its own paths (whatever the case or trailing slash), not the catch-all.
    expect((await answer(direct, 'GET', '/me')).text).toBe('{"app":"/me","auth":true}')
    expect((await answer(direct, 'GET', '/LOGIN/')).text).not.toContain('"app"')
  })

  it('the same with routes of other literal paths', async () => {
    const routes = { login: '/sign-in', logout: '/Auth/Out/', backchannelLogout: false as const }
    const direct = await start(false, { routes })
    const routed = await start(true, { routes })
    for (const path of [
      '/sign-in',
      '/SIGN-IN/',
      '/auth/cb',
      '/auth/out',
      '/auth/out/',
      '/login',
      '/me',
    ]) {
      const [a, b] = await Promise.all([answer(direct, 'GET', path), answer(routed, 'GET', path)])
      expect({ path, ...a }).toEqual({ path, ...b })
    }
    expect((await answer(direct, 'GET', '/sign-in')).text).not.toContain('"app"')
  })

  it("leaves a request that no route can match out of the router's dispatch", async () => {
    const handle = vi.spyOn(routerPrototype(), 'handle')
    const base = await start(false)
    handle.mockClear()
    await answer(base, 'GET', '/me')
    // Only the app's own router dispatched it.
    expect(handle).toHaveBeenCalledTimes(1)
    handle.mockClear()
    await answer(base, 'GET', '/Login/')
    expect(handle).toHaveBeenCalledTimes(2)
  })

  it('dispatches everything through the router when a route is not a literal path', async () => {
    const handle = vi.spyOn(routerPrototype(), 'handle')
    const base = await start(false, { routes: { login: '/login/:provider' } })
    handle.mockClear()
    expect((await answer(base, 'GET', '/me')).text).toBe('{"app":"/me","auth":true}')
    expect(handle).toHaveBeenCalledTimes(2)
  })
})
