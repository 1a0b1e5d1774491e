// Several auth() routers on one app (issue 13.3): two issuers (two local authorization servers),
// both routers with the default sessionKey. Logins complete through either; a login transaction
// is refused by the other router (RFC 9700 section 4.4.2, mix-up); req.auth is the one of the
// router the user logged in through.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createClient, type Client } from '@codegrant/core'
import { auth } from '@codegrant/express'
import { completeLogin, startLocalAs, type LocalAs } from '@codegrant/local-as'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, authOf, TOKEN_SECRET } from './express-harness.js'

const CLIENT = {
  client_id: 'multi-issuer-rp',
  client_secret: 'multi-issuer-rp-secret-for-local-tests-only',
  token_endpoint_auth_method: 'client_secret_basic' as const,
  redirect_uris: ['http://127.0.0.1/a/callback', 'http://127.0.0.1/b/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1/'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code' as const],
  scope: 'openid profile email offline_access',
}

let asA: LocalAs
let asB: LocalAs
let server: Server
let url = ''
let keyedServer: Server
let keyedUrl = ''

function router(as: LocalAs, prefix: string, base: () => string, sessionKey?: string) {
  let client: Promise<Client> | undefined
  return auth({
    client: () =>
      (client ??= createClient({
        issuer: as.issuer,
        clientId: CLIENT.client_id,
        clientSecret: CLIENT.client_secret,
        redirectUri: `${base()}${prefix}/callback`,
        scope: 'openid profile email',
      })),
    secret: TOKEN_SECRET,
    ...(sessionKey !== undefined ? { sessionKey } : {}),
    routes: {
      login: `${prefix}/login`,
      callback: `${prefix}/callback`,
      logout: `${prefix}/logout`,
      backchannelLogout: false,
    },
  })
}

beforeAll(async () => {
  asA = await startLocalAs({ clients: [CLIENT] })
  asB = await startLocalAs({ clients: [CLIENT] })
  const app = express()
  app.use(session({ secret: 'multi-issuer-session', resave: false, saveUninitialized: false }))
  app.use(router(asA, '/a', () => url))
  app.use(router(asB, '/b', () => url))
  app.get('/me', (req, res) => {
    const user = authOf(req).user
    if (user === undefined) res.status(401).json({ error: 'unauthorized' })
    else res.json({ sub: user.sub, iss: authOf(req).idTokenClaims?.iss })
  })
  app.get('/token', async (req, res, next) => {
    try {
      res.json({ length: (await authOf(req).getAccessToken()).length })
    } catch (err) {
      next(err)
    }
  })
  app.use(
    (
      err: Error & { status?: number; code?: string },
      _r: Request,
      res: Response,
      _n: NextFunction,
    ) => {
      res.status(err.status ?? 500).json({ code: err.code, message: err.message })
    },
  )
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  // The same two routers with a sessionKey each.
  const keyed = express()
  keyed.use(session({ secret: 'multi-issuer-session', resave: false, saveUninitialized: false }))
  keyedServer = await new Promise<Server>((resolve) => {
    const s = keyed.listen(0, '127.0.0.1', () => resolve(s))
  })
  keyedUrl = `http://127.0.0.1:${(keyedServer.address() as AddressInfo).port}`
  keyed.use(router(asA, '/a', () => keyedUrl, 'issuer-a'))
  keyed.use(router(asB, '/b', () => keyedUrl, 'issuer-b'))
  keyed.get('/me', (req, res) => {
    const user = authOf(req).user
    if (user === undefined) res.status(401).json({ error: 'unauthorized' })
    else res.json({ sub: user.sub, iss: authOf(req).idTokenClaims?.iss })
  })
})

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r))
  keyedServer?.closeAllConnections()
  await new Promise((r) => keyedServer?.close(r))
  await asA?.close()
  await asB?.close()
})

/** Starts a login at one router and signs in at its AS; returns the authorization response. */
async function authorize(agent: Agent, prefix: string) {
  const start = await agent.request(`${prefix}/login`)
  expect(start.status).toBe(302)
  return completeLogin(new URL(start.location!), { cookieJar: agent.asJar })
}

describe('two auth() routers (two issuers) with the default sessionKey', () => {
  for (const [prefix, issuer] of [
    ['/a', () => asA.issuer],
    ['/b', () => asB.issuer],
  ] as const) {
    it(`completes a login through ${prefix}, and req.auth is that router's`, async () => {
      const agent = new Agent(url)
      const response = await authorize(agent, prefix)
      expect(response.url.pathname).toBe(`${prefix}/callback`)
      const callback = await agent.request(`${response.url.pathname}${response.url.search}`)
      expect(callback.status).toBe(302)
      const me = await agent.json('/me')
      expect(me.status).toBe(200)
      expect(me.body.iss).toBe(issuer())
      expect((await agent.json('/token')).status).toBe(200)
    })
  }

  it('refuses a transaction of one router at the callback of the other (mix-up)', async () => {
    const agent = new Agent(url)
    const response = await authorize(agent, '/a')
    // The authorization response of AS A, delivered to B's callback without the RFC 9207 `iss`
    // (many servers do not send it): B must not send A's code to B's token endpoint.
    const search = new URLSearchParams(response.url.search)
    search.delete('iss')
    asB.resetCounts()
    const res = await agent.request(`/b/callback?${search}`, { accept: 'application/json' })
    expect(res.status).toBe(400)
    const body = (await res.json()) as { code: string; message: string }
    expect(body.code).toBe('ERR_LOGIN_FAILED')
    expect(body.message).toMatch(/another authorization server/)
    expect(asB.grantCount('authorization_code')).toBe(0)
    expect((await agent.json('/me')).status).toBe(401)
    // Consumed: the real callback does not accept it afterwards either.
    const again = await agent.request(`/a/callback${response.url.search}`, {
      accept: 'application/json',
    })
    expect(again.status).toBe(400)
  })

  it('logs in through A after a pending login through B (logins of both routers share the session)', async () => {
    const agent = new Agent(url)
    const b = await agent.request('/b/login')
    expect(b.status).toBe(302)
    const response = await authorize(agent, '/a')
    expect((await agent.request(`/a/callback${response.url.search}`)).status).toBe(302)
    expect((await agent.json('/me')).body.iss).toBe(asA.issuer)
  })
})

describe('two auth() routers with a sessionKey each', () => {
  it('req.auth is the one of the router whose section holds the user', async () => {
    const agent = new Agent(keyedUrl)
    const response = await authorize(agent, '/b')
    expect((await agent.request(`/b/callback${response.url.search}`)).status).toBe(302)
    const me = await agent.json('/me')
    expect(me.status).toBe(200)
    expect(me.body.iss).toBe(asB.issuer)
  })
})
