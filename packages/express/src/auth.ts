import {
  createContext,
  createRequestAuth,
  endExpiredSession,
  gateRequest,
  gatesRequests,
  isPageNavigation,
  holdsOwnUser,
  missingSession,
  prepareSession,
  resolveOptions,
  type AuthContext,
  type AuthOptions,
  type GateDecision,
  type RequestAuth,
  type VaultSession,
} from '@codegrant/session'
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import { sessionOf } from './express-session.js'
import {
  backchannelLogoutHandler,
  callbackHandler,
  loginHandler,
  logoutHandler,
} from './handlers.js'
import { attachContext, shared } from './request-context.js'
import { answerDecision } from './requires-auth.js'

const SESSION_REQUIRED =
  'express-session is not mounted before auth(): add app.use(session({ secret, resave: false, ' +
  'saveUninitialized: false, cookie: { httpOnly: true, sameSite: "lax", secure: <true when served over https> } })) before app.use(auth(...))'

// Which router made each `req.auth` (not another one, or another package), for every copy of
// this package in the process.
const owners = shared<object, AuthContext>('@codegrant/express.request-auth')

/**
 * Whose `req.auth` this is: the first router sets it; a later one replaces it only when the
 * session's user logged in through that later router.
 */
function claimRequest(req: Request, ctx: AuthContext, session: VaultSession): void {
  // Through an untyped view: `req.auth` may be typed by another package's global declaration.
  // (Not Reflect.get / Reflect.set: V8 runs those through its slow generic path.)
  const slot = req as unknown as { auth?: unknown }
  const current = slot.auth
  const previous = current !== null && typeof current === 'object' ? owners.get(current) : undefined
  if (previous !== undefined && previous !== ctx) {
    if (!holdsOwnUser(ctx, session)) return
  }
  const auth: RequestAuth = createRequestAuth(session, ctx)
  owners.set(auth, ctx)
  slot.auth = auth
  attachContext(req, ctx, req.baseUrl)
}

/**
 * The login middleware: a Router with the login, callback (GET, and POST for `form_post`),
 * logout (GET and POST) and back-channel logout routes, that sets `req.auth` on every request.
 * Mount it after express-session:
 *
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax', secure: isHttps } }))
 * app.use(auth({ client: () => createClient({ ... }), secret: process.env.TOKEN_SECRET }))
 * app.get('/profile', requiresAuth(), (req, res) => res.json(getAuth(req).user))
 * ```
 *
 * Several routers (several issuers) on one app: give each its own routes; see the README.
 *
 * @throws TypeError for an invalid or unknown option, naming it (`auth(): "secret" ...`).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export function auth(options: AuthOptions): Router {
  const config = resolveOptions(options)
  const ctx = createContext(config)
  const router = express.Router()
  const form = express.urlencoded({ extended: false, limit: '64kb' })

  // authRequired and attemptSilentLogin: decided for every request but auth()'s own routes.
  const gate = (req: Request, res: Response, session: VaultSession, next: NextFunction): void => {
    let decision: GateDecision
    try {
      decision = gateRequest(ctx, session, {
        path: req.path,
        mountPath: req.baseUrl,
        method: req.method,
        url: req.originalUrl,
        get prefersJson() {
          return req.xhr || req.accepts(['html', 'json']) === 'json'
        },
        get pageNavigation() {
          return isPageNavigation(req.method, {
            accept: req.get('accept'),
            secFetchMode: req.get('sec-fetch-mode'),
            secFetchDest: req.get('sec-fetch-dest'),
            xRequestedWith: req.get('x-requested-with'),
          })
        },
      })
    } catch (err) {
      next(err)
      return
    }
    answerDecision(decision, req, res, next, ctx)
  }

  const gated = gatesRequests(config)
  const proceed = (
    req: Request,
    res: Response,
    session: VaultSession,
    next: NextFunction,
  ): void => {
    claimRequest(req, ctx, session)
    const onward = gated ? () => gate(req, res, session, next) : next
    // Absolute lifetime reached: the session ends whatever the activity.
    const ending = endExpiredSession(ctx, session)
    if (ending === undefined) onward()
    else ending.then(() => onward(), next)
  }

  // Every request: req.auth, then the gate and the absolute lifetime.
  const everyRequest = (req: Request, res: Response, next: NextFunction): void => {
    if (req.session == null) {
      next(missingSession(ctx, SESSION_REQUIRED))
      return
    }
    const session = sessionOf(req)
    const waiting = prepareSession(ctx, session)
    if (waiting === undefined) proceed(req, res, session, next)
    else void waiting.then(() => proceed(req, res, session, next))
  }
  router.use(everyRequest)

  const { routes } = config
  const callback = callbackHandler(ctx)
  const logout = logoutHandler(ctx)
  if (routes.login !== false) router.get(routes.login, loginHandler(ctx))
  router.get(routes.callback, callback)
  router.post(routes.callback, form, callback)
  if (routes.logout !== false) {
    router.get(routes.logout, logout)
    router.post(routes.logout, logout)
  }
  if (routes.backchannelLogout !== false) {
    router.post(routes.backchannelLogout, form, backchannelLogoutHandler(ctx))
  }
  dispatchDirectly(router, everyRequest, routes)
  return router
}

type Handler = (req: Request, res: Response, next: NextFunction) => void

// A route path the router matches literally (no parameters, wildcards or groups).
const LITERAL_PATH = /^\/[A-Za-z0-9._~/-]*$/

/** A path as a case-insensitive, non-strict router compares it: lower case, no trailing slashes. */
function comparable(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '') || '/'
}

/**
 * Lets a request that none of the router's own routes can match skip the router's dispatch:
 * `everyRequest` runs as the router's first layer would run it, then the request goes on
 * (Express's Router would otherwise try each route, then leave through `setImmediate`). Every
 * request whose path could match a route (the same path case-insensitively, with or without
 * trailing slashes, or percent-encoded), an `OPTIONS` request, or any request once the app added
 * layers of its own to the router, is dispatched by the router as before. Only for routes that
 * are literal paths.
 */
function dispatchDirectly(
  router: Router,
  everyRequest: Handler,
  routes: Readonly<Record<string, string | false>>,
): void {
  const paths: string[] = []
  for (const path of Object.values(routes)) {
    if (path === false) continue
    if (!LITERAL_PATH.test(path)) return
    paths.push(comparable(path))
  }
  const ours = new Set(paths)
  const layers = router.stack.length
  // Express's typings leave the Router's `handle` out.
  const dispatch = (router as unknown as { handle: Handler }).handle
  const mightMatch = (req: Request): boolean => {
    if (req.method === 'OPTIONS' || router.stack.length !== layers) return true
    const path: unknown = req.path
    if (typeof path !== 'string' || path.includes('%')) return true
    return ours.has(comparable(path))
  }
  Object.defineProperty(router, 'handle', {
    configurable: true,
    writable: true,
    value(this: Router, req: Request, res: Response, next: NextFunction): void {
      if (mightMatch(req)) {
        dispatch.call(this, req, res, next)
        return
      }
      try {
        everyRequest(req, res, next)
      } catch (err) {
        next(err)
      }
    },
  })
}
