import { accessRule, decideAccess, type AccessDecision } from './access.js'
import { identityOf, type AuthContext } from './context.js'
import type { AuthRoutes, ResolvedOptions } from './options.js'
import { safeReturnTo } from './return-to.js'
import { triedSilentLogin } from './session-record.js'
import type { VaultSession } from './session-vault.js'

/** A request reaching the login middleware, as plain values, for {@link gateRequest}. */
export interface GateInput {
  /** The request path relative to where the middleware is mounted (`req.path` in its Router). */
  readonly path: string
  /** The path the middleware is mounted at (`req.baseUrl`), `''` at the root. */
  readonly mountPath: string
  readonly method: string
  /** The request URL as received: path and query (`req.originalUrl`), the `returnTo` candidate. */
  readonly url: string
  /** As {@link AccessInput.prefersJson}; read only when a decision needs it. */
  readonly prefersJson: boolean
  /**
   * Whether the request is a browser's page navigation ({@link isPageNavigation}); read only for
   * `attemptSilentLogin`.
   */
  readonly pageNavigation: boolean
}

/** The request headers {@link isPageNavigation} reads, `undefined` when absent. */
export interface NavigationHeaders {
  readonly accept: string | undefined
  readonly secFetchMode: string | undefined
  readonly secFetchDest: string | undefined
  readonly xRequestedWith: string | undefined
}

/**
 * Whether a request is a browser loading a page: a GET that is not an XHR, with
 * `Sec-Fetch-Mode: navigate` and `Sec-Fetch-Dest: document` when the browser sends them (a frame,
 * an image, a `fetch()` are not), else an `Accept` that names `text/html` (a favicon's `*\/*` does
 * not).
 */
export function isPageNavigation(method: string, headers: NavigationHeaders): boolean {
  if (method !== 'GET') return false
  if (headers.xRequestedWith?.toLowerCase() === 'xmlhttprequest') return false
  if (headers.secFetchMode !== undefined) {
    return (
      headers.secFetchMode === 'navigate' &&
      (headers.secFetchDest === undefined || headers.secFetchDest === 'document')
    )
  }
  return headers.accept?.toLowerCase().includes('text/html') === true
}

/**
 * What the login middleware does with a request before the app's routes: `next` (go on); `login`
 * to start a login ({@link startLogin} with `login`: the silent attempt of `attemptSilentLogin`,
 * or `authRequired` with the login route off); or, with `authRequired`, the other guard decisions
 * for a request without a login (see {@link decideAccess}: `redirect`, `reply`, `fail`).
 */
export type GateDecision =
  { readonly action: 'next' } | Exclude<AccessDecision, { action: 'allow' }>

const PLAIN = accessRule()

/** A path as a router matches it: case-insensitive, one trailing slash ignored. */
function routeKey(path: string): string {
  const lower = path.toLowerCase()
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower
}

/**
 * Whether `path` (relative to the mount point) is one of the middleware's own routes: login,
 * callback, logout, back-channel logout (those turned off are not). Routers match paths
 * case-insensitively and ignore one trailing slash by default: so does this.
 */
export function isOwnRoute(routes: Readonly<Required<AuthRoutes>>, path: string): boolean {
  const key = routeKey(path)
  return [routes.login, routes.callback, routes.logout, routes.backchannelLogout].some(
    (route) => route !== false && routeKey(route) === key,
  )
}

/**
 * Whether {@link gateRequest} can decide anything but `next` with these options
 * (`authRequired` or `attemptSilentLogin`): an adapter skips building its input otherwise.
 */
export function gatesRequests(
  config: Pick<ResolvedOptions, 'authRequired' | 'attemptSilentLogin'>,
): boolean {
  return config.authRequired || config.attemptSilentLogin
}

/**
 * The login middleware's decision for every request that is not for one of its own routes, when
 * nobody is logged in: with `attemptSilentLogin`, a page navigation of a session that did not try
 * yet starts a silent login (`prompt=none`, back to this page); else with `authRequired` the
 * request gets what `requiresAuth()` gives it (a page request is sent to log in with `returnTo`,
 * a JSON one gets `401`); otherwise it goes on.
 */
export function gateRequest(
  ctx: AuthContext,
  session: VaultSession,
  input: GateInput,
): GateDecision {
  const { config } = ctx
  if (!gatesRequests(config)) return { action: 'next' }
  if (isOwnRoute(config.routes, input.path)) return { action: 'next' }
  const user = ctx.vault.readUser(session, identityOf(ctx))
  if (user !== undefined) return { action: 'next' }
  if (
    config.attemptSilentLogin &&
    !triedSilentLogin(session.data, ctx.vault.sessionKey) &&
    input.pageNavigation
  ) {
    const returnTo = safeReturnTo(input.url) ?? config.defaultReturnTo
    return { action: 'login', login: { returnTo, silent: true } }
  }
  if (!config.authRequired) return { action: 'next' }
  const decision = decideAccess(PLAIN, {
    user: undefined,
    router: { ctx, mountPath: input.mountPath },
    method: input.method,
    url: input.url,
    get prefersJson() {
      return input.prefersJson
    },
  })
  return decision.action === 'allow' ? { action: 'next' } : decision
}
