// One contender of the `GET /me` benchmark (issue 9): the real examples/web-app against an
// express-openid-connect app answering the same JSON, each with its default session storage or
// both on Redis through connect-redis.
// Config: { contender: 'codegrant' | 'peer' | 'base' | 'layer-express' | 'layer-session' |
//   'layer-auth', issuer, clientId, clientSecret, secret, redisUrl? }
//
// The `layer-*` contenders measure what each layer of the example costs (for
// count-instructions.mjs): the example's wiring (the same store, cookie, sessionMiddleware and
// auth() options) with `/me` answered earlier: right after reading the session from the store
// with no session logic (`layer-express`), after sessionMiddleware() (`layer-session`), after
// auth() (`layer-auth`, which answers what the example answers). The first two answer a fixed
// claim set of the same size, since the user record is sealed. auth() stays mounted behind them
// for the login.

import { createHmac, timingSafeEqual } from 'node:crypto'
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

// What the first two layers answer: claims of the size the local AS's demo user has.
const FIXED_CLAIMS = {
  sub: 'demo-user-0001',
  name: 'Demo User',
  given_name: 'Demo',
  family_name: 'User',
  email: 'demo@example.com',
  email_verified: true,
  iss: 'http://127.0.0.1:40000',
  aud: 'web-basic',
  iat: 1764680000,
  exp: 1764683600,
  auth_time: 1764680000,
  sid: '5d2f3c4b-0c1e-4f7a-9d4e-2b6a8f1e3c7d',
}

/**
 * The example's wiring with `/me` answered after `layer` ('express', 'session' or 'auth').
 * @param {number} port
 * @param {string} layer
 */
async function layeredApp(port, layer) {
  if (!cfg.redisUrl) throw new TypeError('the layer contenders run on Redis only')
  const { auth, createRedisLock, createRedisSessionIndex, sessionMiddleware } =
    await import('@codegrant/express')
  const { createClient } = await import('@codegrant/core')
  const { RedisStore } = exampleRequire('connect-redis')
  const redis = await connectRedis()
  const store = new RedisStore({ client: redis, prefix: 'webapp:sess:' })
  // As examples/web-app does: renewals rewrite the entry, so no touch.
  Object.defineProperty(store, 'touch', { value: undefined, configurable: true, writable: true })
  const baseUrl = `http://127.0.0.1:${port}`
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  /** @param {any} res @param {Record<string, unknown>} claims */
  const answer = (res, claims) => {
    res.set('Cache-Control', 'no-store')
    res.json({ sub: claims.sub, claims })
  }

  if (layer === 'express') {
    // The floor: the cookie's session id (signature checked once per value), one store GET.
    /** @type {Map<string, string>} */
    const verified = new Map()
    const sidOf = (/** @type {string | undefined} */ header) => {
      const m = header === undefined ? null : /(?:^|;\s*)connect\.sid=([^;]*)/.exec(header)
      if (m === null) return undefined
      const raw = decodeURIComponent(m[1] ?? '')
      const known = verified.get(raw)
      if (known !== undefined) return known
      const dot = raw.lastIndexOf('.')
      if (!raw.startsWith('s:') || dot < 0) return undefined
      const sid = raw.slice(2, dot)
      const mac = Buffer.from(
        createHmac('sha256', cfg.secret).update(sid).digest('base64').replace(/=+$/, ''),
      )
      const sent = Buffer.from(raw.slice(dot + 1))
      if (mac.length !== sent.length || !timingSafeEqual(mac, sent)) return undefined
      verified.set(raw, sid)
      return sid
    }
    app.get('/me', (req, res, next) => {
      const sid = sidOf(req.headers.cookie)
      if (sid === undefined) {
        next()
        return
      }
      store.get(sid, (/** @type {unknown} */ err, /** @type {unknown} */ data) => {
        if (err) next(err)
        else if (data == null) next()
        else answer(res, FIXED_CLAIMS)
      })
    })
  }
  app.use(
    sessionMiddleware({
      secret: cfg.secret,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      store,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 24 * 3600 * 1000 },
    }),
  )
  if (layer === 'session') {
    app.get('/me', (req, res, next) => {
      if (/** @type {any} */ (req).session?.codegrant === undefined) next()
      else answer(res, FIXED_CLAIMS)
    })
  }
  app.use(
    auth({
      client: () =>
        createClient({
          issuer: cfg.issuer,
          clientId: cfg.clientId,
          clientSecret: cfg.clientSecret,
          redirectUri: `${baseUrl}/callback`,
          postLogoutRedirectUri: `${baseUrl}/`,
          scope: 'openid profile email',
        }),
      secret: cfg.secret,
      fetchUserInfoAtLogin: true,
      lock: createRedisLock(redis),
      sessionIndex: createRedisSessionIndex(redis),
    }),
  )
  app.get('/me', (req, res) => {
    const user = /** @type {any} */ (req).auth?.user
    if (user === undefined) res.status(401).json({ error: 'unauthorized' })
    else answer(res, user)
  })
  return app
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
    if (/^layer-(express|session|auth)$/.test(cfg.contender)) {
      return layeredApp(port, cfg.contender.slice('layer-'.length))
    }
    throw new TypeError(`unknown contender "${cfg.contender}"`)
  })
} catch (err) {
  fail(err)
}
