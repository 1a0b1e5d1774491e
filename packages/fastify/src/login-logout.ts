// Login and logout started from the app's handlers: the same flows as the plugin's routes, for an
// app that turns those routes off (`routes.login: false`, `routes.logout: false`) or adds its own.
import {
  AuthError,
  loginParams,
  logoutParams,
  type AuthContext,
  type LoginOptions,
  type LogoutOptions,
} from '@codegrant/session'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { redirectToLogin, redirectToLogout } from './handlers.js'
import { contextOf } from './request-context.js'

function pluginOf(request: FastifyRequest, what: string): AuthContext {
  const ctx = contextOf(request)
  if (ctx === undefined) {
    throw new AuthError('ERR_SESSION_REQUIRED', `fastifyAuth must be registered before ${what}`)
  }
  return ctx
}

/**
 * Starts a login from a handler and answers its redirect (302 to the AS), as `GET /login` does:
 * the same `returnTo` rules (a same-origin relative path, else `defaultReturnTo`), PKCE, PAR when
 * the AS requires it, and one login in progress per call (several tabs at once). Use it with
 * `routes.login: false`, or for a login page of your own.
 *
 * ```ts
 * app.get('/sign-in', (request, reply) =>
 *   login(request, reply, { returnTo: '/dashboard', authorizationParams: { prompt: 'login' } }),
 * )
 * ```
 *
 * @returns the reply, sent
 * @throws TypeError for a bad option, naming it.
 * @throws AuthError `ERR_SESSION_REQUIRED` when the request did not go through `fastifyAuth`;
 *   `ERR_AS_UNAVAILABLE`, `ERR_CLIENT_AUTH_REFUSED`, `ERR_CONFIG_INVALID`,
 *   `ERR_STORE_UNAVAILABLE` as the login route.
 */
export async function login(
  request: FastifyRequest,
  reply: FastifyReply,
  options?: LoginOptions,
): Promise<FastifyReply> {
  const ctx = pluginOf(request, 'login()')
  return redirectToLogin(request, reply, ctx, loginParams(ctx.config, options))
}

/**
 * Logs out from a handler and answers its redirect, as `GET /logout` does: the session is
 * destroyed, the refresh token revoked (`revokeOnLogout`), then a 302 to the AS's
 * end_session_endpoint, or, for a local logout (`localLogout`) or an AS without one, to
 * `returnTo` (a same-origin relative path, else `logoutReturnTo`).
 *
 * ```ts
 * app.post('/sign-out', (request, reply) => logout(request, reply, { localLogout: true }))
 * ```
 *
 * @returns the reply, sent
 * @throws TypeError for a bad option, naming it.
 * @throws AuthError `ERR_SESSION_REQUIRED` when the request did not go through `fastifyAuth`;
 *   `ERR_STORE_UNAVAILABLE` when the session could not be destroyed.
 */
export async function logout(
  request: FastifyRequest,
  reply: FastifyReply,
  options?: LogoutOptions,
): Promise<FastifyReply> {
  const ctx = pluginOf(request, 'logout()')
  return redirectToLogout(request, reply, ctx, logoutParams(ctx.config, options))
}
