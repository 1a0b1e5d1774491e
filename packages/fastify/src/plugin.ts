import formbody from '@fastify/formbody'
import {
  AuthError,
  createContext,
  createRequestAuth,
  endExpiredSession,
  gateRequest,
  gatesRequests,
  holdsOwnUser,
  isPageNavigation,
  prepareSession,
  resolveOptions,
  type AuthContext,
  type AuthOptions,
  type GateDecision,
  type RequestAuth,
  type VaultSession,
} from '@codegrant/session'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasSession, sessionOf } from './fastify-session.js'
import './get-auth.js'
import {
  backchannelLogoutHandler,
  callbackHandler,
  loginHandler,
  logoutHandler,
} from './handlers.js'
import { answerDecision } from './guards.js'
import { prefersJson } from './negotiate.js'
import { attachContext, contextOf } from './request-context.js'

/**
 * Options of the {@link fastifyAuth} plugin: the options of `@codegrant/session`'s engine, as
 * `auth()` of `@codegrant/express` takes them (validated by its `resolveOptions`).
 */
export type FastifyAuthOptions = AuthOptions

const SESSION_REQUIRED =
  'fastifyAuth: @fastify/session is not registered before it: register @fastify/cookie, then ' +
  '@fastify/session ({ secret, saveUninitialized: false, rolling: false, cookie: { httpOnly: true, ' +
  'sameSite: "lax", secure: <true when served over https> } }), then fastifyAuth'

const FORM = 'application/x-www-form-urlencoded'
// The callback's form_post body and a logout token are small.
const FORM_LIMIT = 64 * 1024

const notLoggedIn = (): Promise<never> =>
  Promise.reject(new AuthError('ERR_UNAUTHENTICATED', 'Not logged in'))

/**
 * `request.auth` of a request without a session (a path outside the session cookie's `path`,
 * where @fastify/session loads none): nobody is logged in.
 */
const NO_SESSION: RequestAuth = Object.freeze({
  isAuthenticated: false,
  user: undefined,
  idTokenClaims: undefined,
  accessTokenExpiresAt: undefined,
  getAccessToken: notLoggedIn,
  fetchUserInfo: notLoggedIn,
})

/**
 * Whose `request.auth` this is: the first plugin instance sets it; a later one replaces it only
 * when the session's user logged in through that later instance.
 */
function claimRequest(request: FastifyRequest, ctx: AuthContext, session: VaultSession): void {
  const previous = contextOf(request)
  if (previous !== undefined && previous !== ctx && !holdsOwnUser(ctx, session)) return
  request.auth = createRequestAuth(session, ctx)
  attachContext(request, ctx)
}

/** The login, callback, logout and back-channel logout routes, in their own scope (form parser). */
function routesOf(ctx: AuthContext): FastifyPluginAsync {
  return async (scope) => {
    // A form parser for these routes only (the app's own, when it registered one).
    if (!scope.hasContentTypeParser(FORM)) await scope.register(formbody, { bodyLimit: FORM_LIMIT })
    const { routes } = ctx.config
    const callback = callbackHandler(ctx)
    const logout = logoutHandler(ctx)
    if (routes.login !== false) scope.get(routes.login, loginHandler(ctx))
    scope.get(routes.callback, callback)
    scope.post(routes.callback, callback)
    if (routes.logout !== false) {
      scope.get(routes.logout, logout)
      scope.post(routes.logout, logout)
    }
    if (routes.backchannelLogout !== false) {
      scope.post(routes.backchannelLogout, backchannelLogoutHandler(ctx))
    }
  }
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * `authRequired` and `attemptSilentLogin`: the engine's decision for every request but the
 * plugin's own routes, answered here. Calls `done` to go on; otherwise replies (or passes the
 * error to `done`).
 */
function gate(
  ctx: AuthContext,
  session: VaultSession,
  request: FastifyRequest,
  reply: FastifyReply,
  done: (err?: Error) => void,
): void {
  let decision: GateDecision
  try {
    const url = request.url
    const query = url.indexOf('?')
    decision = gateRequest(ctx, session, {
      path: query === -1 ? url : url.slice(0, query),
      mountPath: '',
      method: request.method,
      url,
      get prefersJson() {
        return prefersJson(request)
      },
      get pageNavigation() {
        return isPageNavigation(request.method, {
          accept: header(request, 'accept'),
          secFetchMode: header(request, 'sec-fetch-mode'),
          secFetchDest: header(request, 'sec-fetch-dest'),
          xRequestedWith: header(request, 'x-requested-with'),
        })
      },
    })
  } catch (err) {
    done(err as Error)
    return
  }
  if (decision.action === 'next') done()
  else answerDecision(decision, request, reply, ctx).catch(done)
}

async function plugin(fastify: FastifyInstance, options: FastifyAuthOptions): Promise<void> {
  if (!fastify.hasRequestDecorator('session')) throw new TypeError(SESSION_REQUIRED)
  const config = resolveOptions(options, 'fastifyAuth')
  const ctx = createContext(config)
  const gated = gatesRequests(config)
  // Several instances (several issuers) share the decorator.
  if (!fastify.hasRequestDecorator('auth'))
    fastify.decorateRequest('auth', null as unknown as RequestAuth)

  fastify.addHook('onRequest', (request, reply, done) => {
    if (!hasSession(request)) {
      if (contextOf(request) === undefined) request.auth = NO_SESSION
      done()
      return
    }
    const session = sessionOf(request)
    const proceed = (): void => {
      claimRequest(request, ctx, session)
      // Absolute lifetime reached: the session ends whatever the activity.
      const onward = gated ? () => gate(ctx, session, request, reply, done) : done
      const ending = endExpiredSession(ctx, session)
      if (ending === undefined) onward()
      else ending.then(() => onward(), done)
    }
    const waiting = prepareSession(ctx, session)
    if (waiting === undefined) proceed()
    else void waiting.then(proceed)
  })

  await fastify.register(routesOf(ctx))
}

/**
 * The login plugin for Fastify 5: the login, callback (GET, and POST for `form_post`), logout
 * (GET and POST) and back-channel logout routes, and `request.auth` on every request. Register it
 * after @fastify/cookie and @fastify/session:
 *
 * ```ts
 * await app.register(fastifyCookie)
 * await app.register(fastifySession, { secret, saveUninitialized: false, rolling: false, cookie: { sameSite: 'lax', secure: isHttps } })
 * await app.register(fastifyAuth, { client: () => createClient({ ... }), secret: process.env.TOKEN_SECRET })
 * app.get('/profile', { onRequest: requiresAuth() }, (request) => request.auth.user)
 * ```
 *
 * Its routes are served at the paths of `routes` (fastify-plugin ignores a register `prefix`).
 *
 * @throws TypeError at registration for an invalid or unknown option, naming it, and when
 *   @fastify/session is not registered before it.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export const fastifyAuth = fp(plugin, { fastify: '5.x', name: '@codegrant/fastify' })
