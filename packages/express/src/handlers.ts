// The route handlers of auth(): each turns the Express request into the inputs of a flow of
// @codegrant/session and its outcome into the response. No protocol or session logic here.
import {
  backchannelLogOut,
  completeLogin,
  logOut,
  safeReturnTo,
  startLogin,
  type AuthContext,
  type CallbackInput,
  type JsonReply,
  type LoginParams,
  type LogoutParams,
  type Redirect,
} from '@codegrant/session'
import type { NextFunction, Request, Response } from 'express'
import { sessionOf, storeOf } from './express-session.js'
import { mountPathOf } from './request-context.js'

/** Answers a flow's redirect. */
export function sendRedirect(res: Response, outcome: Redirect): void {
  res.set(outcome.headers)
  res.redirect(302, outcome.redirectTo)
}

function sendJson(res: Response, reply: JsonReply): void {
  res.set(reply.headers)
  if (reply.body === undefined) res.status(reply.status).end()
  else res.status(reply.status).json(reply.body)
}

/** Starts a login for this request's session and redirects to the AS. */
export async function redirectToLogin(
  req: Request,
  res: Response,
  ctx: AuthContext,
  params: LoginParams,
): Promise<void> {
  const outcome = await startLogin(ctx, sessionOf(req), {
    ...params,
    mountPath: mountPathOf(req, ctx),
  })
  sendRedirect(res, outcome)
}

/** `GET /login?returnTo=/path`. */
export function loginHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const returnTo = safeReturnTo(req.query.returnTo) ?? ctx.config.defaultReturnTo
    redirectToLogin(req, res, ctx, { returnTo }).catch(next)
  }
}

/** The values of the request's cookies (percent-decoded). */
function cookieValues(req: Request): string[] {
  const header = req.get('cookie')
  if (header === undefined) return []
  return header.split(';').map((pair) => {
    const value = pair.slice(pair.indexOf('=') + 1).trim()
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  })
}

/**
 * What the cookies say about the request's session. express-session signs its cookie as
 * `s:<session id>.<signature>`: when no cookie holds the id of the request's session, the session
 * was just created, i.e. the one the login was started in did not come back.
 */
function sessionCookieOf(req: Request): CallbackInput['sessionCookie'] {
  const values = cookieValues(req)
  if (values.some((v) => v.startsWith(`s:${req.sessionID}.`))) return 'current'
  return values.some((v) => v.startsWith('s:')) ? 'other' : 'none'
}

/** `GET|POST /callback`: completes the login or passes a typed `AuthError` to `next`. */
export function callbackHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.set('Cache-Control', 'no-store')
    const input: CallbackInput = {
      method: req.method,
      url: req.originalUrl,
      params: (req.method === 'POST' ? req.body : req.query) as Record<string, unknown> | undefined,
      fetchSite: req.get('sec-fetch-site'),
      get sessionCookie() {
        return sessionCookieOf(req)
      },
      sessionMaxAge: () => req.session.cookie.maxAge ?? undefined,
    }
    completeLogin(ctx, sessionOf(req), input).then((outcome) => {
      if (outcome.kind === 'redirect') sendRedirect(res, outcome)
      else res.status(outcome.status).set(outcome.headers).type('html').send(outcome.html)
    }, next)
  }
}

/**
 * `GET|POST /logout`: destroys the local session, revokes the refresh token when the AS offers
 * revocation, then redirects to the AS end_session_endpoint or to `logoutReturnTo`.
 */
export function logoutHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    redirectToLogout(req, res, ctx).catch(next)
  }
}

/** Logs the request's session out and redirects (to the AS end-session URL or `returnTo`). */
export async function redirectToLogout(
  req: Request,
  res: Response,
  ctx: AuthContext,
  params?: LogoutParams,
): Promise<void> {
  res.set('Cache-Control', 'no-store')
  sendRedirect(res, await logOut(ctx, sessionOf(req), params))
}

/** `POST /backchannel-logout`: ends the sessions a valid logout token names. */
export function backchannelLogoutHandler(ctx: AuthContext) {
  return (req: Request, res: Response): void => {
    const body = req.body as Record<string, unknown> | undefined
    void backchannelLogOut(ctx, storeOf(req), body).then((reply) => sendJson(res, reply))
  }
}
