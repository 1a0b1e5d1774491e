// One contender of the Fastify `GET /me` benchmark: the real examples/fastify-web-app against a
// bare Fastify route on the same @fastify/session (MemoryStore, the same cookie settings) that
// answers the same JSON from a session a plain `/login` + `/callback` filled.
// Config: { contender: 'codegrant' | 'bare' | 'bare-sized', issuer, clientId, clientSecret, secret }

import { createRequire } from 'node:module'
import { createServer } from 'node:http'
import { fail, readServerConfig, serve } from './serve.mjs'

const cfg = readServerConfig()
// Fastify and its plugins as the example installs them (the bench has no copy of its own).
const exampleRequire = createRequire(
  new URL('../../examples/fastify-web-app/package.json', import.meta.url),
)

/** Fastify's own request handler, through its documented serverFactory. */
function captureHandler() {
  /** @type {{ handler?: import('node:http').RequestListener }} */
  const box = {}
  const serverFactory = (/** @type {any} */ h) => {
    box.handler = h
    return createServer()
  }
  return { box, serverFactory }
}

/** @param {number} port */
async function codegrantApp(port) {
  const { createWebApp } = await import('../../examples/fastify-web-app/dist/app.js')
  const { loadConfig } = await import('../../examples/fastify-web-app/dist/config.js')
  const baseUrl = `http://127.0.0.1:${port}`
  const config = loadConfig({
    PORT: String(port),
    BASE_URL: baseUrl,
    ISSUER_URL: cfg.issuer,
    CLIENT_ID: cfg.clientId,
    CLIENT_SECRET: cfg.clientSecret,
    SESSION_SECRET: cfg.secret,
    SCOPE: 'openid profile email',
  })
  const { box, serverFactory } = captureHandler()
  await createWebApp(config, { baseUrl, serverFactory, log: () => undefined })
  return /** @type {import('node:http').RequestListener} */ (box.handler)
}

/**
 * Bare Fastify: @fastify/cookie + @fastify/session with the example's settings, a `/login` that
 * redirects to a `/callback` which stores a user (claims of the same size as the example's) in
 * the session, and `/me` answering `{ sub, claims }` from it: the floor of any session-backed
 * login on Fastify, without tokens, encryption or a guard.
 * `padding` characters more in the session (`bare-sized`: as many as the example's sealed
 * section, about 2,100) make @fastify/session copy and hash a session of the example's size.
 * @param {number} padding
 */
async function bareApp(padding) {
  const { default: Fastify } = await import(exampleRequire.resolve('fastify'))
  const { default: fastifyCookie } = await import(exampleRequire.resolve('@fastify/cookie'))
  const { default: fastifySession } = await import(exampleRequire.resolve('@fastify/session'))
  const { box, serverFactory } = captureHandler()
  const app = Fastify({ logger: false, serverFactory })
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: cfg.secret,
    saveUninitialized: false,
    rolling: false,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false, maxAge: 24 * 3600_000 },
  })
  app.get('/login', async (/** @type {any} */ _request, /** @type {any} */ reply) =>
    reply.redirect('/callback', 302),
  )
  app.get('/callback', async (/** @type {any} */ request, /** @type {any} */ reply) => {
    await request.session.regenerate()
    const now = Math.floor(Date.now() / 1000)
    request.session.user = {
      iss: cfg.issuer,
      sub: 'demo-user-1',
      aud: cfg.clientId,
      exp: now + 3600,
      iat: now,
      auth_time: now,
      sid: 'x'.repeat(43),
      name: 'Demo User',
      email: 'demo@example.com',
      email_verified: true,
    }
    if (padding > 0) request.session.padding = 'x'.repeat(padding)
    return reply.redirect('/', 302)
  })
  app.get('/me', async (/** @type {any} */ request, /** @type {any} */ reply) => {
    reply.header('Cache-Control', 'no-store')
    const user = request.session.user
    if (user === undefined) {
      return reply.code(401).send({ error: 'unauthorized', error_description: 'Not logged in' })
    }
    return { sub: user.sub, claims: user }
  })
  await app.ready()
  return /** @type {import('node:http').RequestListener} */ (box.handler)
}

try {
  await serve((port) => {
    if (cfg.contender === 'codegrant') return codegrantApp(port)
    if (cfg.contender === 'bare') return bareApp(0)
    // The size of examples/fastify-web-app's sealed section after a login at the local AS.
    if (cfg.contender === 'bare-sized') return bareApp(2100)
    throw new TypeError(`unknown contender "${cfg.contender}"`)
  })
} catch (err) {
  fail(err)
}
