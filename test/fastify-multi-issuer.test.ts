// Several fastifyAuth instances in one Fastify app (the twin of express-multi-issuer.test.ts):
// two issuers (two local authorization servers), both instances with the default sessionKey,
// then with a sessionKey each. Logins complete through either; a login transaction is refused
// by the other instance (RFC 9700 section 4.4.2, mix-up); request.auth is the one of the
// instance the user logged in through, and its guards and getAccessToken() are that instance's.
import { createClient, type Client } from '@codegrant/core'
import { fastifyAuth, requiresAuth } from '@codegrant/fastify'
import { completeLogin, startLocalAs, type LocalAs } from '@codegrant/local-as'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from './express-harness.js'
import { COOKIE_NAME, SESSION_SECRET, TOKEN_SECRET } from './fastify-harness.js'

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
let shared: { app: FastifyInstance; url: string }
let keyed: { app: FastifyInstance; url: string }

function instanceOptions(as: LocalAs, prefix: string, base: () => string, sessionKey?: string) {
  let client: Promise<Client> | undefined
  return {
    client: () =>
      (client ??= createClient({
        issuer: as.issuer,
        clientId: CLIENT.client_id,
        clientSecret: CLIENT.client_secret,
        redirectUri: `${base()}${prefix}/callback`,
        postLogoutRedirectUri: `${base()}/`,
        scope: 'openid profile email',
      })),
    secret: TOKEN_SECRET,
    ...(sessionKey !== undefined ? { sessionKey } : {}),
    routes: {
      login: `${prefix}/login`,
      callback: `${prefix}/callback`,
      logout: `${prefix}/logout`,
      backchannelLogout: false as const,
    },
  }
}

async function startApp(keys?: [string, string]): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify()
  let url = ''
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
  })
  await app.register(
    fastifyAuth,
    instanceOptions(asA, '/a', () => url, keys?.[0]),
  )
  await app.register(
    fastifyAuth,
    instanceOptions(asB, '/b', () => url, keys?.[1]),
  )
  app.get('/me', async (request, reply) => {
    const user = request.auth.user
    if (user === undefined) return reply.code(401).send({ error: 'unauthorized' })
    return { sub: user.sub, iss: request.auth.idTokenClaims?.iss }
  })
  // Which instance's section holds a user (the store format: `<sessionKey>.user`).
  app.get('/sections', async (request) => {
    const has = (key: string | undefined) =>
      key !== undefined &&
      (request.session.get(key as never) as { user?: unknown } | undefined)?.user !== undefined
    return { a: has(keys?.[0]), b: has(keys?.[1]) }
  })
  app.get('/token', { onRequest: requiresAuth() }, async (request) => ({
    length: (await request.auth.getAccessToken()).length,
  }))
  app.setErrorHandler(
    async (err: Error & { statusCode?: number; code?: string }, _request, reply) =>
      reply.code(err.statusCode ?? 500).send({ code: err.code, message: err.message }),
  )
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  url = address.replace('localhost', '127.0.0.1')
  return { app, url }
}

beforeAll(async () => {
  asA = await startLocalAs({ clients: [CLIENT] })
  asB = await startLocalAs({ clients: [CLIENT] })
  shared = await startApp()
  keyed = await startApp(['issuer-a', 'issuer-b'])
})

afterAll(async () => {
  await shared?.app.close()
  await keyed?.app.close()
  await asA?.close()
  await asB?.close()
})

/** Starts a login at one instance and signs in at its AS; returns the authorization response. */
async function authorize(agent: Agent, prefix: string) {
  const start = await agent.request(`${prefix}/login`)
  expect(start.status).toBe(302)
  return completeLogin(new URL(start.location!), { cookieJar: agent.asJar })
}

describe('two fastifyAuth instances (two issuers) with the default sessionKey', () => {
  for (const [prefix, issuer] of [
    ['/a', () => asA.issuer],
    ['/b', () => asB.issuer],
  ] as const) {
    it(`completes a login through ${prefix}, and request.auth is that instance's`, async () => {
      const agent = new Agent(shared.url, COOKIE_NAME)
      const response = await authorize(agent, prefix)
      expect(response.url.pathname).toBe(`${prefix}/callback`)
      const callback = await agent.request(`${response.url.pathname}${response.url.search}`)
      expect(callback.status).toBe(302)
      const me = await agent.json('/me')
      expect(me.status).toBe(200)
      expect(me.body.iss).toBe(issuer())
      const token = await agent.json('/token')
      expect(token.status).toBe(200)
      expect(token.body.length).toBeGreaterThan(0)
    })
  }

  it('refuses a transaction of one instance at the callback of the other (mix-up)', async () => {
    const agent = new Agent(shared.url, COOKIE_NAME)
    const response = await authorize(agent, '/a')
    // AS A's authorization response at B's callback without the RFC 9207 `iss` (many servers do
    // not send it): B must not send A's code to B's token endpoint.
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

  it('logs in through A after a pending login through B (both share the session)', async () => {
    const agent = new Agent(shared.url, COOKIE_NAME)
    expect((await agent.request('/b/login')).status).toBe(302)
    const response = await authorize(agent, '/a')
    expect((await agent.request(`/a/callback${response.url.search}`)).status).toBe(302)
    expect((await agent.json('/me')).body.iss).toBe(asA.issuer)
  })

  it("logs out through the instance the user logged in with, at that instance's AS", async () => {
    const agent = new Agent(shared.url, COOKIE_NAME)
    const response = await authorize(agent, '/b')
    expect((await agent.request(`/b/callback${response.url.search}`)).status).toBe(302)
    const logout = await agent.request('/b/logout')
    expect(logout.status).toBe(302)
    const target = new URL(logout.location!)
    expect(target.origin).toBe(new URL(asB.issuer).origin)
    expect(target.searchParams.get('id_token_hint')).toBeTruthy()
    expect((await agent.json('/me')).status).toBe(401)
  })
})

describe('two fastifyAuth instances with a sessionKey each', () => {
  it('request.auth is the one of the instance whose section holds the user', async () => {
    const agent = new Agent(keyed.url, COOKIE_NAME)
    const response = await authorize(agent, '/b')
    expect((await agent.request(`/b/callback${response.url.search}`)).status).toBe(302)
    const me = await agent.json('/me')
    expect(me.status).toBe(200)
    expect(me.body.iss).toBe(asB.issuer)
    expect((await agent.json('/token')).status).toBe(200)
  })

  it("a login through one instance starts a new session: the other instance's login ends", async () => {
    const agent = new Agent(keyed.url, COOKIE_NAME)
    const a = await authorize(agent, '/a')
    expect((await agent.request(`/a/callback${a.url.search}`)).status).toBe(302)
    expect(await agent.json('/sections').then((r) => r.body)).toEqual({ a: true, b: false })
    // Session fixation defence: B's login gets a new session; A's sealed record (bound to the
    // old session id) is not carried over, so the session holds B's user only.
    const b = await authorize(agent, '/b')
    expect((await agent.request(`/b/callback${b.url.search}`)).status).toBe(302)
    expect(await agent.json('/sections').then((r) => r.body)).toEqual({ a: false, b: true })
    expect((await agent.json('/me')).body.iss).toBe(asB.issuer)
  })
})
