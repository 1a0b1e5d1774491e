import formbody from '@fastify/formbody'
import {
  AuthError,
  createContext,
  createCookieVault,
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
  type RefreshHandoff,
  type RequestAuth,
  type ResolvedOptions,
  type VaultSession,
} from '@codegrant/session'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { fastifySessionAdapter } from './fastify-session.js'
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
import { secureSessionAdapter } from './secure-session.js'
import { bindAdapter, type SessionAdapter } from './session-adapter.js'

/**
 * Options of the {@link fastifyAuth} plugin: the options of `@codegrant/session`'s engine, as
 * `auth()` of `@codegrant/express` takes them (validated by its `resolveOptions`), plus one for
 * sessions kept in @fastify/secure-session's cookie.
 */
export interface FastifyAuthOptions extends AuthOptions {
  /**
   * Cookie sessions (@fastify/secure-session) only, and required there with a shared `lock`:
   * where a refresh leaves "old refresh token hash -> new token set" (sealed, 30 s) for the other
   * instances whose requests carry the same cookie, `createRedisRefreshHandoff(client)` on the
   * Redis of `createRedisLock(client)`. Without a shared lock the records stay in the process.
   */
  refreshHandoff?: RefreshHandoff
}

const SESSION_SETUP =
  'register @fastify/cookie, then either @fastify/session ({ secret, saveUninitialized: false, ' +
  'rolling: false, cookie: { httpOnly: true, sameSite: "lax", secure: <true when served over ' +
  'https> } }: sessions in a server-side store) or @fastify/secure-session ({ key, cookie: { ' +
  'path: "/", httpOnly: true, sameSite: "lax", secure: <true on https> } }: sessions in an ' +
  'encrypted cookie), then fastifyAuth'

const SESSION_REQUIRED = `fastifyAuth: no session plugin is registered before it: ${SESSION_SETUP}`

const BOTH_SESSIONS =
  'fastifyAuth: both @fastify/session and @fastify/secure-session are registered before it: ' +
  'it keeps its login in one of them, register only that one in the scope of fastifyAuth'

const SECURE_SESSION_NAME =
  'fastifyAuth: @fastify/secure-session is registered with a "sessionName" other than "session": ' +
  'fastifyAuth reads request.session, register it with the default sessionName'

// Default of maxTransactions with cookie sessions: each login in progress costs about 600 bytes
// of the cookie's 4096 (the oldest are dropped earlier when the cookie would not fit).
const COOKIE_MAX_TRANSACTIONS = 3

/**
 * Picks the session plugin from the decorators registered before fastifyAuth.
 *
 * @throws TypeError when neither or both are registered, or `refreshHandoff` comes with
 *   @fastify/session.
 */
function sessionMode(fastify: FastifyInstance, refreshHandoff: unknown): 'store' | 'cookie' {
  const store = fastify.hasRequestDecorator('sessionStore')
  const cookie = fastify.hasDecorator('encodeSecureSession')
  if (store && cookie) throw new TypeError(BOTH_SESSIONS)
  if (store) {
    if (refreshHandoff !== undefined) {
      throw new TypeError(
        'fastifyAuth: "refreshHandoff" is for cookie sessions (@fastify/secure-session): with ' +
          '@fastify/session a refresh re-reads the store after the lock; remove it',
      )
    }
    return 'store'
  }
  if (!cookie || !fastify.hasRequestDecorator('session')) {
    throw new TypeError(cookie ? SECURE_SESSION_NAME : SESSION_REQUIRED)
  }
  return 'cookie'
}

const isHandoff = (v: unknown): v is RefreshHandoff =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as RefreshHandoff).get === 'function' &&
  typeof (v as RefreshHandoff).put === 'function'

/**
 * Checks, once the engine validated them, that the options hold for sessions kept in a cookie.
 *
 * @throws TypeError for an option that needs what a cookie session cannot give.
 */
function checkCookieOptions(
  options: AuthOptions,
  config: ResolvedOptions,
  refreshHandoff: unknown,
): void {
  if (refreshHandoff !== undefined && !isHandoff(refreshHandoff)) {
    throw new TypeError(
      'fastifyAuth: "refreshHandoff" must be a RefreshHandoff (createRedisRefreshHandoff(client))',
    )
  }
  if (config.routes.backchannelLogout !== false) {
    if (options.sessionIndex === undefined) {
      throw new TypeError(
        'fastifyAuth: back-channel logout ("routes.backchannelLogout", on by default) cannot ' +
          'delete a cookie session (@fastify/secure-session): it needs a "sessionIndex" where the ' +
          'logged-out sessions are recorded and every request checks them (createRedisSessionIndex(' +
          'client), or createMemorySessionIndex() for a single instance); or set ' +
          '"routes.backchannelLogout": false',
      )
    }
    if (config.absoluteDuration === false) {
      throw new TypeError(
        'fastifyAuth: back-channel logout with cookie sessions (@fastify/secure-session) needs ' +
          '"absoluteDuration" (the logged-out sessions are remembered that long): a cookie ' +
          'session without it has no end',
      )
    }
  }
  if (config.lock !== config.localLock && refreshHandoff === undefined) {
    throw new TypeError(
      'fastifyAuth: a shared "lock" with cookie sessions (@fastify/secure-session) needs ' +
        '"refreshHandoff" (createRedisRefreshHandoff(client) on the same Redis): an instance that ' +
        'waited for the lock has no store to re-read and would refresh a rotated refresh token again',
    )
  }
}

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
  // Not an object: resolveOptions says so.
  const { refreshHandoff, ...engineOptions } =
    options !== null && typeof options === 'object' ? options : ({} as FastifyAuthOptions)
  const mode = sessionMode(fastify, refreshHandoff)
  const config = resolveOptions(
    options !== null && typeof options === 'object'
      ? mode === 'cookie' && engineOptions.maxTransactions === undefined
        ? { ...engineOptions, maxTransactions: COOKIE_MAX_TRANSACTIONS }
        : engineOptions
      : options,
    'fastifyAuth',
  )
  if (mode === 'cookie') checkCookieOptions(engineOptions, config, refreshHandoff)
  const ctx =
    mode === 'cookie'
      ? createContext(config, (vault) =>
          createCookieVault({
            ...vault,
            ...(isHandoff(refreshHandoff) ? { handoff: refreshHandoff } : {}),
          }),
        )
      : createContext(config)
  const adapter: SessionAdapter =
    mode === 'cookie'
      ? secureSessionAdapter(fastify, {
          sessionKey: config.sessionKey,
          backchannel: config.routes.backchannelLogout !== false,
        })
      : fastifySessionAdapter
  bindAdapter(ctx, adapter)
  const gated = gatesRequests(config)
  // Several instances (several issuers) share the decorator.
  if (!fastify.hasRequestDecorator('auth'))
    fastify.decorateRequest('auth', null as unknown as RequestAuth)

  fastify.addHook('onRequest', (request, reply, done) => {
    if (!adapter.has(request)) {
      if (contextOf(request) === undefined) request.auth = NO_SESSION
      done()
      return
    }
    const session = adapter.sessionOf(request)
    const proceed = (): void => {
      claimRequest(request, ctx, session)
      const onward = gated ? () => gate(ctx, session, request, reply, done) : done
      // A cookie session's user logged out by back-channel logout ends here.
      const checked = (): void => {
        const checking = adapter.check?.(ctx, session)
        if (checking === undefined) onward()
        else checking.then(() => onward(), done)
      }
      // Absolute lifetime reached: the session ends whatever the activity.
      const ending = endExpiredSession(ctx, session)
      if (ending === undefined) checked()
      else ending.then(checked, done)
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
 * after @fastify/cookie and either @fastify/session (sessions in a server-side store) or
 * @fastify/secure-session (sessions in an encrypted cookie; see the README for what a cookie can
 * and cannot give):
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
 * @throws TypeError at registration for an invalid or unknown option, naming it; when neither
 *   or both of @fastify/session and @fastify/secure-session are registered before it; with
 *   @fastify/secure-session, for back-channel logout without a `sessionIndex` or without
 *   `absoluteDuration`, and for a shared `lock` without `refreshHandoff`.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export const fastifyAuth = fp(plugin, { fastify: '5.x', name: '@codegrant/fastify' })
