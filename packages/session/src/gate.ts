import { accessRule, decideAccess, type AccessDecision } from './access.js'
import { identityOf, type AuthContext } from './context.js'
import type { AuthRoutes } from './options.js'
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
}

/**
 * What the login middleware does with a request before the app's routes: `next` (go on), or,
 * with `authRequired`, a guard decision for a request without a login (see {@link decideAccess}:
 * `redirect`, `login`, `reply`, `fail`).
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
 * The login middleware's decision for every request that is not for one of its own routes: with
 * `authRequired`, a request without a logged-in user gets what `requiresAuth()` gives it (a page
 * request is sent to log in with `returnTo`, a JSON one gets `401`); otherwise it goes on.
 */
export function gateRequest(
  ctx: AuthContext,
  session: VaultSession,
  input: GateInput,
): GateDecision {
  const { config } = ctx
  if (!config.authRequired || isOwnRoute(config.routes, input.path)) return { action: 'next' }
  const user = ctx.vault.readUser(session, identityOf(ctx))
  if (user !== undefined) return { action: 'next' }
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
