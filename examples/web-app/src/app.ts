import { createHmac, timingSafeEqual } from 'node:crypto'
import { createClient, type Client } from '@codegrant/core'
import {
  auth,
  createRedisLock,
  createRedisSessionIndex,
  isAuthError,
  requiresAuth,
  sessionMiddleware,
  type RedisCommandClient,
  type RequestAuth,
} from '@codegrant/express'
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express'
import type { Store } from 'express-session'
import type { WebAppConfig } from './config.js'
import { apiPage, errorPage, homePage, profilePage, type Viewer } from './pages.js'

export interface WebAppDeps {
  /** The app's public origin (BASE_URL). */
  baseUrl: string
  /**
   * A session store shared by instances (Redis), or the in-memory default. Its `touch` is
   * switched off: the app renews sessions by rewriting them (see {@link renewSession}).
   */
  store?: Store
  /** The Redis client behind `store`, for the refresh lock and the back-channel index. */
  redis?: RedisCommandClient
  /** Reports what the app does not show to users. */
  log: (line: string) => void
}

const authOf = (req: Request): RequestAuth | undefined =>
  (req as unknown as { auth?: RequestAuth }).auth

function viewer(req: Request): Viewer {
  const a = authOf(req)
  const user = a?.user
  const name = typeof user?.name === 'string' ? user.name : user?.sub
  return { loggedIn: a?.isAuthenticated === true, name }
}

function wantsHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html'
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

/**
 * The status of an error meant for the client (http-errors from body-parser: `expose` set and a
 * 4xx `status`), else `undefined`.
 */
function clientError(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined
  const { status, statusCode, expose } = err as {
    status?: unknown
    statusCode?: unknown
    expose?: unknown
  }
  const value = typeof status === 'number' ? status : statusCode
  if (expose !== true || typeof value !== 'number' || !Number.isInteger(value)) return undefined
  return value >= 400 && value <= 499 ? value : undefined
}

/** Lifetime of a session after its last renewal (the cookie's and the store entry's). */
export const SESSION_MAX_AGE_SECONDS = 24 * 3600
/** A logged-in session is renewed (cookie re-sent, store entry rewritten) at most this often. */
export const SESSION_RENEW_AFTER_SECONDS = 60

/**
 * Rolling expiry without re-signing and re-sending the cookie on every response (what
 * express-session's `rolling: true` does): a logged-in session not renewed yet, or last renewed
 * `afterSeconds` or more ago, is stamped `renewedAt`, so express-session saves it and sends the
 * cookie with a fresh `maxAge` at the end of this request. A session therefore expires `maxAge`
 * after its last renewal, that is between `maxAge - afterSeconds` and `maxAge` after the last
 * request. Sessions without a logged-in user are left as they are (a login in progress expires
 * with its transaction). Mount after `auth()`.
 */
export function renewSession(afterSeconds: number): RequestHandler {
  const afterMs = afterSeconds * 1000
  return (req, _res, next) => {
    const s = req.session as (typeof req.session & { renewedAt?: unknown }) | undefined
    if (s !== undefined && authOf(req)?.isAuthenticated === true) {
      const now = Date.now()
      const last = typeof s.renewedAt === 'number' ? s.renewedAt : -Infinity
      if (now - last >= afterMs) s.renewedAt = now
    }
    next()
  }
}

/** Builds the example app (no listening). */
export function createWebApp(config: WebAppConfig, deps: WebAppDeps): express.Express {
  const { baseUrl } = deps
  const https = baseUrl.startsWith('https:')
  const app = express()
  app.disable('x-powered-by')
  // Every answer is per user and most are no-store: an ETag (a SHA-1 of each body) buys nothing.
  app.set('etag', false)
  if (https) app.set('trust proxy', 1)

  const issuerOrigin = new URL(config.issuerUrl).origin
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' ${issuerOrigin}; base-uri 'none'; frame-ancestors 'none'`
  app.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'no-referrer')
    next()
  })

  if (deps.store !== undefined) {
    // renewSession() rewrites the store entry (and its TTL) at every renewal, so express-session
    // need not touch it: without a `touch` it skips the store call and one more hash of the
    // session on every read-only request.
    Object.defineProperty(deps.store, 'touch', {
      value: undefined,
      configurable: true,
      writable: true,
    })
  }
  // express-session's behaviour and store interface, without its per-request hashing of the
  // whole session (see @codegrant/express's README).
  app.use(
    sessionMiddleware({
      // On https the __Host- prefix: the browser keeps the cookie only if it is Secure, for
      // Path=/ and without Domain, so no subdomain or plain-http page can set or shadow it.
      ...(https ? { name: '__Host-codegrant.sid' } : {}),
      secret: config.sessionSecret,
      resave: false,
      saveUninitialized: false,
      // Rolling expiry by renewSession() below, not `rolling: true` (a Set-Cookie, an HMAC and a
      // store touch on every response).
      rolling: false,
      ...(deps.store !== undefined ? { store: deps.store } : {}),
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: https,
        maxAge: SESSION_MAX_AGE_SECONDS * 1000,
      },
    }),
  )

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

  app.use(
    auth({
      client: getClient,
      secret: config.tokenSecret,
      // Name and email from UserInfo when the ID token lacks them (LemonLDAP::NG, strict OPs).
      fetchUserInfoAtLogin: true,
      ...(config.apiAudience !== undefined ? { resource: config.apiAudience } : {}),
      ...(deps.redis !== undefined
        ? { lock: createRedisLock(deps.redis), sessionIndex: createRedisSessionIndex(deps.redis) }
        : {}),
      logger: { warn: (message) => deps.log(`warn: ${message}`) },
    }),
  )
  app.use(renewSession(SESSION_RENEW_AFTER_SECONDS))

  // A CSRF token bound to the session id (it changes at login): no session write needed.
  const csrfToken = (req: Request): string =>
    createHmac('sha256', config.sessionSecret).update(`csrf:${req.sessionID}`).digest('base64url')
  const csrfOk = (req: Request): boolean => {
    const sent = (req.body as Record<string, unknown> | undefined)?.csrf
    if (typeof sent !== 'string') return false
    const a = Buffer.from(sent)
    const b = Buffer.from(csrfToken(req))
    return a.length === b.length && timingSafeEqual(a, b)
  }

  app.get('/', (req, res) => {
    res.type('html').send(homePage(viewer(req)))
  })

  app.get('/me', (req, res) => {
    res.set('Cache-Control', 'no-store')
    const user = authOf(req)?.user
    if (user === undefined) {
      res.status(401).json({ error: 'unauthorized', error_description: 'Not logged in' })
      return
    }
    res.json({ sub: user.sub, claims: user })
  })

  app.get('/profile', requiresAuth(), (req, res) => {
    const a = authOf(req)!
    res.set('Cache-Control', 'no-store')
    res
      .type('html')
      .send(profilePage(viewer(req), a.user ?? {}, a.accessTokenExpiresAt, csrfToken(req)))
  })

  app.post(
    '/refresh-token',
    express.urlencoded({ extended: false, limit: '4kb' }),
    requiresAuth(),
    async (req, res, next) => {
      try {
        if (!csrfOk(req)) {
          res
            .status(403)
            .type('html')
            .send(
              errorPage(
                viewer(req),
                403,
                'Forbidden',
                'The form is stale or did not come from this site. Reload the page and try again.',
              ),
            )
          return
        }
        await authOf(req)!.getAccessToken({ forceRefresh: true })
        res.redirect(303, '/profile')
      } catch (err) {
        next(err)
      }
    },
  )

  app.get('/api-data', requiresAuth(), async (req, res, next) => {
    try {
      res.set('Cache-Control', 'no-store')
      if (config.apiUrl === undefined) {
        res.status(503).json({ error: 'not_configured', error_description: 'API_URL is not set' })
        return
      }
      const accessToken = await authOf(req)!.getAccessToken()
      let apiResponse: globalThis.Response
      try {
        apiResponse = await fetch(`${config.apiUrl}/api/private`, {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
          signal: AbortSignal.timeout(5000),
        })
      } catch {
        res
          .status(502)
          .json({ error: 'api_unreachable', error_description: 'The API could not be reached' })
        return
      }
      const text = await apiResponse.text()
      let data: unknown
      try {
        data = text.length > 0 ? JSON.parse(text) : null
      } catch {
        res
          .status(502)
          .json({ error: 'api_invalid_response', error_description: 'The API did not answer JSON' })
        return
      }
      if (wantsHtml(req)) {
        res
          .status(apiResponse.status)
          .type('html')
          .send(apiPage(viewer(req), apiResponse.status, data))
        return
      }
      res.status(apiResponse.status).json(data)
    } catch (err) {
      next(err)
    }
  })

  app.use((req, res) => {
    res.status(404)
    if (wantsHtml(req))
      res.type('html').send(errorPage(viewer(req), 404, 'Not found', 'There is no page here.'))
    else res.json({ error: 'not_found' })
  })

  // Errors: a readable page (or JSON), the status of the typed error, never a token or a stack.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
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
      // A request error from a body parser (too large, unsupported charset, malformed): its
      // status, with a generic message (never its text, which may echo the input).
      status = clientError(err) as number
      ;({ code, title, message } = CLIENT_ERRORS[status] ?? CLIENT_ERRORS[400]!)
    } else if (req.session === undefined && req.sessionStore !== undefined) {
      // express-session could not load the session: the store (Redis) is down. auth() types
      // these errors once it has seen the store; before the first request it cannot.
      status = 503
      code = 'ERR_STORE_UNAVAILABLE'
      title = 'Service unavailable'
      message = 'The session store is unavailable. Please try again shortly.'
    } else {
      deps.log(`error: ${err instanceof Error ? err.name : 'unknown error'}`)
    }
    if (res.headersSent) return
    res.status(status).set('Cache-Control', 'no-store')
    if (wantsHtml(req)) res.type('html').send(errorPage(viewer(req), status, title, message))
    else res.json({ error: code, error_description: message })
  })
  return app
}
