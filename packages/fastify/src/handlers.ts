// The route handlers of the fastifyAuth plugin: each turns the Fastify request into the inputs of
// a flow of @codegrant/session and its outcome into the reply. No protocol or session logic here.
import {
  completeLogin,
  logOut,
  safeReturnTo,
  startLogin,
  type AuthContext,
  type CallbackInput,
  type LoginParams,
  type LogoutParams,
  type Redirect,
} from '@codegrant/session'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { adapterOf } from './session-adapter.js'

/** The plugin's routes are served where it is registered: fastify-plugin shares the parent's prefix-less scope. */
const MOUNT_PATH = ''

/** Answers a flow's redirect. */
export function sendRedirect(reply: FastifyReply, outcome: Redirect): FastifyReply {
  return reply.headers(outcome.headers).redirect(outcome.redirectTo, 302)
}

/** Starts a login for this request's session and redirects to the AS. */
export async function redirectToLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: AuthContext,
  params: LoginParams,
): Promise<FastifyReply> {
  const session = adapterOf(ctx).sessionOf(request)
  const outcome = await startLogin(ctx, session, { ...params, mountPath: MOUNT_PATH })
  return sendRedirect(reply, outcome)
}

/** `GET /login?returnTo=/path`. */
export function loginHandler(ctx: AuthContext) {
  return (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const query = request.query as Record<string, unknown> | undefined
    const returnTo = safeReturnTo(query?.returnTo) ?? ctx.config.defaultReturnTo
    return redirectToLogin(request, reply, ctx, { returnTo })
  }
}

/** `GET|POST /callback`: completes the login, or throws a typed `AuthError` (with its status). */
export function callbackHandler(ctx: AuthContext) {
  const adapter = adapterOf(ctx)
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    reply.header('Cache-Control', 'no-store')
    const input: CallbackInput = {
      method: request.method,
      url: request.url,
      params: (request.method === 'POST' ? request.body : request.query) as
        Record<string, unknown> | undefined,
      fetchSite: request.headers['sec-fetch-site'] as string | undefined,
      get sessionCookie() {
        return adapter.cookieState(request, ctx.config)
      },
      sessionMaxAge: () => adapter.maxAge(request),
    }
    const outcome = await completeLogin(ctx, adapter.sessionOf(request), input)
    if (outcome.kind === 'redirect') return sendRedirect(reply, outcome)
    return reply
      .code(outcome.status)
      .headers(outcome.headers)
      .type('text/html; charset=utf-8')
      .send(outcome.html)
  }
}

/**
 * `GET|POST /logout`: destroys the local session, revokes the refresh token when the AS offers
 * revocation, then redirects to the AS end_session_endpoint or to `logoutReturnTo`.
 */
export function logoutHandler(ctx: AuthContext) {
  return (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
    redirectToLogout(request, reply, ctx)
}

/** Logs the request's session out and redirects (to the AS end-session URL or `returnTo`). */
export async function redirectToLogout(
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: AuthContext,
  params?: LogoutParams,
): Promise<FastifyReply> {
  reply.header('Cache-Control', 'no-store')
  return sendRedirect(reply, await logOut(ctx, adapterOf(ctx).sessionOf(request), params))
}

/** `POST /backchannel-logout`: ends the sessions a valid logout token names. */
export function backchannelLogoutHandler(ctx: AuthContext) {
  const adapter = adapterOf(ctx)
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const body = request.body as Record<string, unknown> | undefined
    const answer = await adapter.backchannelLogOut(ctx, request, body)
    reply.code(answer.status).headers(answer.headers)
    return answer.body === undefined ? reply.send() : reply.send(answer.body)
  }
}
