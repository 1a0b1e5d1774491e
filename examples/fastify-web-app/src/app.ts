import { createHmac, timingSafeEqual } from 'node:crypto'
import { createClient, type Client } from '@codegrant/core'
import {
  createRedisLock,
  createRedisSessionIndex,
  fastifyAuth,
  isAuthError,
  requiresAuth,
  type RedisCommandClient,
  type RequestAuth,
} from '@codegrant/fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import fastifySession, { type SessionStore } from '@fastify/session'
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
  type RawServerDefault,
  type onRequestHookHandler,
} from 'fastify'
import Negotiator from 'negotiator'
import type { WebAppConfig } from '@codegrant/example-web-app/config'
import {
  apiPage,
  errorPage,
  homePage,
  profilePage,
  type Viewer,
} from '@codegrant/example-web-app/pages'

export interface WebAppDeps {
  /** The app's public origin (BASE_URL). */
  baseUrl: string
  /** A session store shared by instances (Redis), or @fastify/session's in-memory default. */
  store?: SessionStore
  /** The Redis client behind `store`, for the refresh lock and the back-channel index. */
  redis?: RedisCommandClient
  /** Gives Fastify the HTTP server to serve on (one already listening), instead of its own. */
  serverFactory?: FastifyServerFactory<RawServerDefault>
  /** Reports what the app does not show to users. */
  log: (line: string) => void
}

// `request.auth` is set by fastifyAuth's onRequest hook; an error raised before it (the session
// store down) reaches the error handler without it.
const authOf = (request: FastifyRequest): RequestAuth | undefined =>
  (request.auth as RequestAuth | null) ?? undefined

function viewer(request: FastifyRequest): Viewer {
  const a = authOf(request)
  const user = a?.user
  const name = typeof user?.name === 'string' ? user.name : user?.sub
  return { loggedIn: a?.isAuthenticated === true, name }
}

/** What Express's `req.accepts(['json', 'html']) === 'html'` answers: a tie is JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  return new Negotiator(request).mediaType(['application/json', 'text/html']) === 'text/html'
}

/** Whether @fastify/session loaded a session (on a store failure it leaves a plain `{}`). */
function sessionLoaded(request: FastifyRequest): boolean {
  return typeof (request.session as { sessionId?: unknown } | null)?.sessionId === 'string'
}

const CLIENT_ERRORS: Record<number, { code: string; title: string; message: string }> = {
  400: { code: 'ERR_BAD_REQUEST', title: 'Bad request', message: 'The request is malformed.' },
  413: {
    code: 'ERR_REQUEST_TOO_LARGE',
    title: 'Request too large',
    message: 'The request body is too large.',
  },
  415: {
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    message: 'The request body has an unsupported type or charset.',
  },
}

/** The status of one of Fastify's own request errors (`FST_ERR_*`, a 4xx), else `undefined`. */
function clientError(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown }
  if (typeof code !== 'string' || !code.startsWith('FST_ERR_')) return undefined
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) return undefined
  return statusCode >= 400 && statusCode <= 499 ? statusCode : undefined
}

/** Lifetime of a session after its last renewal (the cookie's and the store entry's). */
export const SESSION_MAX_AGE_SECONDS = 24 * 3600
/** A logged-in session is renewed (cookie re-sent, store entry rewritten) at most this often. */
export const SESSION_RENEW_AFTER_SECONDS = 60

/**
 * Rolling expiry without re-sending the cookie on every response (what @fastify/session's
 * `rolling: true` does): a logged-in session not renewed yet, or last renewed `afterSeconds` or
 * more ago, is stamped `renewedAt`, so @fastify/session saves it (its cookie's expiry was reset to
 * `maxAge` from now when it was loaded) and sends the cookie at the end of this request. Sessions
 * without a logged-in user are left as they are. Register after `fastifyAuth`.
 */
export function renewSession(afterSeconds: number): onRequestHookHandler {
  const afterMs = afterSeconds * 1000
  return (request, _reply, done) => {
    const s = request.session as (typeof request.session & { renewedAt?: unknown }) | null
    if (s != null && authOf(request)?.isAuthenticated === true) {
      const now = Date.now()
      const last = typeof s.renewedAt === 'number' ? s.renewedAt : -Infinity
      if (now - last >= afterMs) s.renewedAt = now
    }
    done()
  }
}

/** Builds the example app (no listening): ready to serve once the promise resolves. */
export async function createWebApp(
  config: WebAppConfig,
  deps: WebAppDeps,
): Promise<FastifyInstance> {
  const { baseUrl } = deps
  const https = baseUrl.startsWith('https:')
  const app: FastifyInstance = Fastify({
    // Behind a TLS-terminating proxy on https: the cookie is Secure when it says https.
    trustProxy: https ? (_address: string, hop: number) => hop < 1 : false,
    ...(deps.serverFactory !== undefined ? { serverFactory: deps.serverFactory } : {}),
  })

  const issuerOrigin = new URL(config.issuerUrl).origin
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' ${issuerOrigin}; base-uri 'none'; frame-ancestors 'none'`
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('Content-Security-Policy', csp)
    reply.header('X-Content-Type-Options', 'nosniff')
    reply.header('Referrer-Policy', 'no-referrer')
    done()
  })

  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    // On https the __Host- prefix: the browser keeps the cookie only if it is Secure, for
    // Path=/ and without Domain, so no subdomain or plain-http page can set or shadow it.
    ...(https ? { cookieName: '__Host-codegrant.sid' } : {}),
    // @fastify/session wants 32+ characters: the token secret is SESSION_SECRET, or its
    // SHA-256 when it is shorter (config.ts).
    secret: config.tokenSecret,
    saveUninitialized: false,
    // Rolling expiry by renewSession() below, not `rolling: true` (a store write and a Set-Cookie
    // on every response).
    rolling: false,
    ...(deps.store !== undefined ? { store: deps.store } : {}),
    cookie: {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: https,
      maxAge: SESSION_MAX_AGE_SECONDS * 1000,
    },
  })
  // Form bodies (the refresh button, the form_post callback, logout): small.
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 })

  let client: Promise<Client> | undefined
  const getClient = (): Promise<Client> =>
    (client ??= createClient({
      issuer: config.issuerUrl,
      clientId: config.clientId,
      ...(config.clientSecret !== undefined ? { clientSecret: config.clientSecret } : {}),
      clientAuthMethod: config.clientAuthMethod,
      assertionAudience: config.assertionAudience,
      ...(config.privateKey !== undefined ? { privateKey: config.privateKey } : {}),
      redirectUri: `${baseUrl}/callback`,
      postLogoutRedirectUri: `${baseUrl}/`,
      scope: config.scope,
    }).catch((err: unknown) => {
      client = undefined
      throw err
    }))

  await app.register(fastifyAuth, {
    client: getClient,
    secret: config.tokenSecret,
    // Name and email from UserInfo when the ID token lacks them (LemonLDAP::NG, strict OPs).
    fetchUserInfoAtLogin: true,
    ...(config.apiAudience !== undefined ? { resource: config.apiAudience } : {}),
    ...(deps.redis !== undefined
      ? { lock: createRedisLock(deps.redis), sessionIndex: createRedisSessionIndex(deps.redis) }
      : {}),
    logger: { warn: (message) => deps.log(`warn: ${message}`) },
  })
  app.addHook('onRequest', renewSession(SESSION_RENEW_AFTER_SECONDS))

  // A CSRF token bound to the session id (it changes at login): no session write needed.
  const csrfToken = (request: FastifyRequest): string =>
    createHmac('sha256', config.sessionSecret)
      .update(`csrf:${request.session.sessionId}`)
      .digest('base64url')
  const csrfOk = (request: FastifyRequest): boolean => {
    const sent = (request.body as Record<string, unknown> | undefined)?.csrf
    if (typeof sent !== 'string') return false
    const a = Buffer.from(sent)
    const b = Buffer.from(csrfToken(request))
    return a.length === b.length && timingSafeEqual(a, b)
  }
  const html = (reply: FastifyReply, body: string): FastifyReply =>
    reply.type('text/html; charset=utf-8').send(body)

  app.get('/', async (request, reply) => html(reply, homePage(viewer(request))))

  app.get('/me', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    const user = request.auth.user
    if (user === undefined) {
      return reply.code(401).send({ error: 'unauthorized', error_description: 'Not logged in' })
    }
    return reply.send({ sub: user.sub, claims: user })
  })

  app.get('/profile', { onRequest: requiresAuth() }, async (request, reply) => {
    const a = request.auth
    reply.header('Cache-Control', 'no-store')
    return html(
      reply,
      profilePage(viewer(request), a.user ?? {}, a.accessTokenExpiresAt, csrfToken(request)),
    )
  })

  app.post(
    '/refresh-token',
    { onRequest: requiresAuth(), bodyLimit: 4096 },
    async (request, reply) => {
      if (!csrfOk(request)) {
        return html(
          reply.code(403),
          errorPage(
            viewer(request),
            403,
            'Forbidden',
            'The form is stale or did not come from this site. Reload the page and try again.',
          ),
        )
      }
      await request.auth.getAccessToken({ forceRefresh: true })
      return reply.redirect('/profile', 303)
    },
  )

  app.get('/api-data', { onRequest: requiresAuth() }, async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    if (config.apiUrl === undefined) {
      return reply
        .code(503)
        .send({ error: 'not_configured', error_description: 'API_URL is not set' })
    }
    const accessToken = await request.auth.getAccessToken()
    let apiResponse: globalThis.Response
    try {
      apiResponse = await fetch(`${config.apiUrl}/api/private`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(5000),
      })
    } catch {
      return reply
        .code(502)
        .send({ error: 'api_unreachable', error_description: 'The API could not be reached' })
    }
    const text = await apiResponse.text()
    let data: unknown
    try {
      data = text.length > 0 ? JSON.parse(text) : null
    } catch {
      return reply
        .code(502)
        .send({ error: 'api_invalid_response', error_description: 'The API did not answer JSON' })
    }
    reply.code(apiResponse.status)
    if (wantsHtml(request)) return html(reply, apiPage(viewer(request), apiResponse.status, data))
    return reply.send(data)
  })

  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404)
    if (wantsHtml(request)) {
      return html(reply, errorPage(viewer(request), 404, 'Not found', 'There is no page here.'))
    }
    return reply.send({ error: 'not_found' })
  })

  // Errors: a readable page (or JSON), the status of the typed error, never a token or a stack.
  app.setErrorHandler(async (err: unknown, request, reply) => {
    let status = 500
    let title = 'Something went wrong'
    let message = 'The request could not be completed. Please try again.'
    let code = 'ERR_INTERNAL'
    if (isAuthError(err)) {
      status = err.status
      code = err.code
      message = err.message
      // A server-side failure (misconfiguration, AS or store down) is the operator's to see.
      if (status >= 500) deps.log(`error: ${code}: ${message}`)
      title =
        status === 503
          ? 'Service unavailable'
          : status >= 500
            ? 'Server error'
            : status === 403
              ? 'Not allowed'
              : status === 401
                ? 'Please log in again'
                : 'Login failed'
    } else if (clientError(err) !== undefined) {
      // A request error from a body parser (too large, unsupported type, malformed): its status,
      // with a generic message (never its text, which may echo the input).
      status = clientError(err) as number
      ;({ code, title, message } = CLIENT_ERRORS[status] ?? CLIENT_ERRORS[400]!)
    } else if (!sessionLoaded(request)) {
      // @fastify/session could not load the session: the store (Redis) is down. fastifyAuth types
      // these errors once it has seen the store; before the first request it cannot.
      status = 503
      code = 'ERR_STORE_UNAVAILABLE'
      title = 'Service unavailable'
      message = 'The session store is unavailable. Please try again shortly.'
    } else {
      deps.log(`error: ${err instanceof Error ? err.name : 'unknown error'}`)
    }
    reply.code(status).header('Cache-Control', 'no-store')
    if (wantsHtml(request)) return html(reply, errorPage(viewer(request), status, title, message))
    return reply.send({ error: code, error_description: message })
  })

  await app.ready()
  return app
}
