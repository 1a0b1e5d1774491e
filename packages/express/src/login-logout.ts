// Login and logout started from the app's handlers: the same flows as auth()'s routes, for an
// app that turns those routes off (`routes.login: false`, `routes.logout: false`) or adds its own.
import {
  AuthError,
  loginParams,
  logoutParams,
  type LoginOptions,
  type LogoutOptions,
} from '@codegrant/session'
import type { Request, Response } from 'express'
import { redirectToLogin, redirectToLogout } from './handlers.js'
import { contextOf } from './request-context.js'

function routerOf(req: Request, what: string) {
  const attached = contextOf(req)
  if (attached === undefined) {
    throw new AuthError('ERR_SESSION_REQUIRED', `auth() must be mounted before ${what}`)
  }
  return attached.ctx
}

/**
 * Starts a login from a handler and answers its redirect (302 to the AS), as `GET /login` does:
 * the same `returnTo` rules (a same-origin relative path, else `defaultReturnTo`), PKCE, PAR when
 * the AS requires it, and one login in progress per call (several tabs at once). Use it with
 * `routes.login: false`, or for a login page of your own.
 *
 * ```ts
 * app.get('/sign-in', (req, res, next) =>
 *   login(req, res, { returnTo: '/dashboard', authorizationParams: { prompt: 'login' } }).catch(next),
 * )
 * ```
 *
 * @throws TypeError for a bad option, naming it (synchronously, before any response).
 * @throws AuthError (the promise) `ERR_SESSION_REQUIRED` when the request did not go through
 *   `auth()`; `ERR_AS_UNAVAILABLE`, `ERR_CLIENT_AUTH_REFUSED`, `ERR_CONFIG_INVALID`,
 *   `ERR_STORE_UNAVAILABLE` as the login route.
 */
export function login(req: Request, res: Response, options?: LoginOptions): Promise<void> {
  let ctx
  try {
    ctx = routerOf(req, 'login()')
  } catch (err) {
    return Promise.reject(err as AuthError)
  }
  return redirectToLogin(req, res, ctx, loginParams(ctx.config, options))
}

/**
 * Logs out from a handler and answers its redirect, as `GET /logout` does: the session is
 * destroyed, the refresh token revoked (`revokeOnLogout`), then a 302 to the AS's
 * end_session_endpoint, or, for a local logout (`localLogout`) or an AS without one, to
 * `returnTo` (a same-origin relative path, else `logoutReturnTo`).
 *
 * ```ts
 * app.post('/sign-out', (req, res, next) => logout(req, res, { localLogout: true }).catch(next))
 * ```
 *
 * @throws TypeError for a bad option, naming it (synchronously, before any response).
 * @throws AuthError (the promise) `ERR_SESSION_REQUIRED` when the request did not go through
 *   `auth()`; `ERR_STORE_UNAVAILABLE` when the session could not be destroyed.
 */
export function logout(req: Request, res: Response, options?: LogoutOptions): Promise<void> {
  let ctx
  try {
    ctx = routerOf(req, 'logout()')
  } catch (err) {
    return Promise.reject(err as AuthError)
  }
  return redirectToLogout(req, res, ctx, logoutParams(ctx.config, options))
}
