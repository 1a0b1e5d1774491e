import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import { backchannelLogoutHandler } from './backchannel-logout.js'
import { callbackHandler } from './callback.js'
import { attachContext, createContext, storeOps } from './context.js'
import { AuthError } from './errors.js'
import { loginHandler } from './login.js'
import { logoutHandler } from './logout.js'
import { resolveOptions, type AuthOptions } from './options.js'
import { createRequestAuth, type RequestAuth } from './request-auth.js'
import { nowSeconds, readSection, type SessionLike } from './session-data.js'
import { regenerateSession } from './session-ops.js'
import { withSessionLock } from './store-guard.js'

const SESSION_REQUIRED =
  'express-session is not mounted before auth(): add app.use(session({ secret, resave: false, ' +
  'saveUninitialized: false, cookie: { httpOnly: true, sameSite: "lax", secure: true } })) before app.use(auth(...))'

/**
 * The login middleware: a Router with the login, callback (GET, and POST for `form_post`),
 * logout (GET and POST) and back-channel logout routes, that sets `req.auth` on every request.
 * Mount it after express-session:
 *
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax', secure: true } }))
 * app.use(auth({ client: () => createClient({ ... }), secret: process.env.TOKEN_SECRET }))
 * app.get('/profile', requiresAuth(), (req, res) => res.json(getAuth(req).user))
 * ```
 *
 * @throws TypeError for an invalid option, naming it.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export function auth(options: AuthOptions): Router {
  const config = resolveOptions(options)
  const ctx = createContext(config)
  const router = express.Router()
  const form = express.urlencoded({ extended: false, limit: '64kb' })

  router.use((req: Request, _res: Response, next: NextFunction) => {
    if (req.session == null) {
      next(
        ctx.sawSession
          ? new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable')
          : new AuthError('ERR_SESSION_REQUIRED', SESSION_REQUIRED),
      )
      return
    }
    ctx.sawSession = true
    storeOps(ctx, req)
    attachContext(req, ctx, req.baseUrl)
    ;(req as unknown as { auth: RequestAuth }).auth = createRequestAuth(req, ctx)
    if (config.absoluteDuration !== false) {
      const user = readSection(req.session as unknown as SessionLike, config.sessionKey)?.user
      if (user !== undefined && nowSeconds() - user.login > config.absoluteDuration) {
        // Absolute lifetime reached: the session ends whatever the activity.
        // Under the session lock, so an in-flight refresh cannot write the old session back.
        const sid = req.sessionID
        withSessionLock(ctx.guard, sid, () => regenerateSession(req)).then(() => next(), next)
        return
      }
    }
    next()
  })

  const { routes } = config
  const callback = callbackHandler(ctx)
  const logout = logoutHandler(ctx)
  router.get(routes.login, loginHandler(ctx))
  router.get(routes.callback, callback)
  router.post(routes.callback, form, callback)
  router.get(routes.logout, logout)
  router.post(routes.logout, logout)
  if (routes.backchannelLogout !== false) {
    router.post(routes.backchannelLogout, form, backchannelLogoutHandler(ctx))
  }
  return router
}
