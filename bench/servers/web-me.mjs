// One contender of the `GET /me` benchmark (issue 9): the real examples/web-app against an
// express-openid-connect app answering the same JSON, each with its default session storage or
// both on Redis through connect-redis.
// Config: { contender: 'codegrant' | 'peer', issuer, clientId, clientSecret, secret, redisUrl? }

import { createRequire } from 'node:module'
import express from 'express'
import { fail, readServerConfig, serve } from './serve.mjs'

const cfg = readServerConfig()
// connect-redis and redis as the example app installs them (the bench has no copy of its own).
const exampleRequire = createRequire(
  new URL('../../examples/web-app/package.json', import.meta.url),
)

/** A connected node-redis client, configured like the example's `index.ts` does. */
async function connectRedis() {
  const { createClient } = exampleRequire('redis')
  const client = createClient({ url: cfg.redisUrl, disableOfflineQueue: true })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

/** @param {number} port */
async function codegrantApp(port, dist = 'dist') {
  const { createWebApp } = await import(`../../examples/web-app/${dist}/app.js`)
  const { loadConfig } = await import('../../examples/web-app/dist/config.js')
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
  /** @type {Record<string, unknown>} */
  const deps = { baseUrl, log: () => undefined }
  if (cfg.redisUrl) {
    // The wiring of examples/web-app/src/index.ts.
    const { RedisStore } = exampleRequire('connect-redis')
    const redis = await connectRedis()
    deps.store = new RedisStore({ client: redis, prefix: 'webapp:sess:' })
    deps.redis = redis
  }
  return createWebApp(config, /** @type {any} */ (deps))
}

/** @param {number} port */
async function peerApp(port) {
  const eoc = await import('express-openid-connect')
  const { auth } = /** @type {any} */ (eoc).default ?? eoc
  /** @type {Record<string, unknown>} */
  const session = {}
  if (cfg.redisUrl) {
    // express-openid-connect's documented custom store: any express-session store.
    const { RedisStore } = exampleRequire('connect-redis')
    session.store = new RedisStore({ client: await connectRedis(), prefix: 'eoc:sess:' })
  }
  const app = express()
  app.disable('x-powered-by')
  app.use(
    auth({
      issuerBaseURL: cfg.issuer,
      baseURL: `http://127.0.0.1:${port}`,
      clientID: cfg.clientId,
      clientSecret: cfg.clientSecret,
      secret: cfg.secret,
      authRequired: false,
      idpLogout: false,
      session,
      authorizationParams: { response_type: 'code', scope: 'openid profile email' },
    }),
  )
  // What the example's /me answers: the sub and the ID token claims, 401 when not logged in.
  app.get('/me', (/** @type {any} */ req, /** @type {any} */ res) => {
    res.set('Cache-Control', 'no-store')
    if (!req.oidc.isAuthenticated()) {
      res.status(401).json({ error: 'unauthorized', error_description: 'Not logged in' })
      return
    }
    const claims = req.oidc.idTokenClaims
    res.json({ sub: claims.sub, claims })
  })
  return app
}

try {
  await serve((port) => {
    if (cfg.contender === 'codegrant') return codegrantApp(port)
    if (cfg.contender === 'peer') return peerApp(port)
    if (cfg.contender === 'base') return codegrantApp(port, 'dist-base')
    throw new TypeError(`unknown contender "${cfg.contender}"`)
  })
} catch (err) {
  fail(err)
}
