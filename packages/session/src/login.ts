import { createAuthorizationRequest } from '@codegrant/core'
import { asUnavailable } from './as-error.js'
import { clientOf, type AuthContext } from './context.js'
import { NO_STORE, type Redirect } from './outcome.js'
import { markSilentLoginTried } from './session-record.js'
import type { VaultSession } from './session-vault.js'

/** What a login asks for beyond the configured defaults. */
export interface LoginParams {
  /** A checked same-origin path to go to afterwards ({@link safeReturnTo}). */
  returnTo: string
  /** Step-up: `acr_values` to request (space-separated). */
  acrValues?: string
  /** Step-up: `max_age` to request (seconds). */
  maxAge?: number
  /**
   * Authorization request parameters of this login, over the configured `authorizationParams`
   * (`prompt`, `login_hint`, `scope`, `acr_values` and `max_age` go to their named parameters).
   */
  authorizationParams?: Readonly<Record<string, string>>
  /**
   * A silent login (`attemptSilentLogin`): `prompt=none` whatever else is configured, the session
   * marked as having made its attempt, and the "login needed" answers of the AS returning the
   * browser to `returnTo` at the callback.
   */
  silent?: boolean
}

/** The authorization parameters core takes by name, and that name. */
const NAMED = {
  prompt: 'prompt',
  login_hint: 'loginHint',
  scope: 'scope',
  acr_values: 'acrValues',
  max_age: 'maxAge',
} as const

type Named = Partial<Record<(typeof NAMED)[keyof typeof NAMED], string>>

/**
 * Splits authorization parameters into those core takes by name (`prompt` ...) and the others.
 * Later sources win.
 */
function splitParams(...sources: Array<Readonly<Record<string, string>> | undefined>): {
  named: Named
  rest: Record<string, string>
} {
  const named: Named = {}
  const rest: Record<string, string> = {}
  for (const source of sources) {
    for (const [key, value] of Object.entries(source ?? {})) {
      const name = (NAMED as Record<string, (typeof NAMED)[keyof typeof NAMED]>)[key]
      if (name !== undefined) named[name] = value
      else rest[key] = value
    }
  }
  return { named, rest }
}

function maxAgeOf(value: string | undefined, step: number | undefined): number | undefined {
  if (step !== undefined) return step
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new TypeError('"authorizationParams.max_age" must be a non-negative integer (seconds)')
  }
  return n
}

/** Where the login middleware serves its routes, for {@link startLogin}'s configuration check. */
export interface MountInput {
  /**
   * The path the middleware is mounted at (`req.baseUrl` in Express, the plugin prefix in
   * Fastify), `''` at the root. For a guard mounted elsewhere, the middleware's own mount path.
   */
  mountPath: string
}

// Routers that already warned about a scope without offline_access; about the redirect URI.
const warned = new WeakSet<AuthContext>()
const warnedRedirect = new WeakSet<AuthContext>()

/**
 * Options resolution checked that the `redirectUri` path ends with `routes.callback`; with the
 * mount path known, a longer path is right only behind a proxy that strips the difference: say so
 * once.
 */
function warnRedirectElsewhere(ctx: AuthContext, mountPath: string, redirectUri: string): void {
  if (warnedRedirect.has(ctx) || ctx.config.logger === undefined) return
  const served = `${mountPath}${ctx.config.routes.callback}`
  const pathname = new URL(redirectUri).pathname
  if (pathname === served) return
  warnedRedirect.add(ctx)
  ctx.config.logger.warn(
    `the path of the client's "redirectUri" (${pathname}) is not where this router serves its ` +
      `callback (${served}): the login fails unless a proxy strips the difference; check ` +
      '"redirectUri", "routes.callback" and the mount path',
    { redirectPath: pathname, callbackPath: served },
  )
}

/**
 * Warns once per router, at its first login, when the scope lacks `offline_access`: most
 * authorization servers then issue no refresh token, and the session cannot outlive its first
 * access token.
 */
function warnWithoutOfflineAccess(ctx: AuthContext, scope: string | undefined): void {
  if (warned.has(ctx) || ctx.config.logger === undefined) return
  if (scope === undefined || scope.split(' ').includes('offline_access')) return
  warned.add(ctx)
  ctx.config.logger.warn(
    'the login scope has no offline_access: the authorization server will likely issue no ' +
      'refresh token, so getAccessToken() fails with ERR_REFRESH_TOKEN_MISSING once the first access ' +
      'token expires; add offline_access to the scope (and allow the refresh_token grant) ' +
      'to keep sessions longer',
    { scope },
  )
}

/**
 * Starts a login: creates the authorization request, stores its transaction in the session under
 * its `state` (next to any other logins in progress, with the issuer and client it is for), saves
 * the session, and returns the AS URL to redirect to (302) with the response headers.
 *
 * @throws AuthError `ERR_AS_UNAVAILABLE`, `ERR_CLIENT_AUTH_REFUSED`, `ERR_CONFIG_INVALID` (the
 *   client could not be created), `ERR_STORE_UNAVAILABLE` (the session could not be saved).
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1 (state, PKCE)
 */
export async function startLogin(
  ctx: AuthContext,
  session: VaultSession,
  params: LoginParams & MountInput,
): Promise<Redirect> {
  const { config } = ctx
  let request: Awaited<ReturnType<typeof createAuthorizationRequest>>
  let client: Awaited<ReturnType<typeof clientOf>>
  try {
    client = await clientOf(ctx)
    const { named, rest } = splitParams(config.authorizationParams, params.authorizationParams)
    const scope = named.scope ?? config.scope
    // A step-up's own acr_values / max_age win over the configured ones.
    const acrValues = params.acrValues ?? named.acrValues
    const maxAge = maxAgeOf(named.maxAge, params.maxAge)
    request = await createAuthorizationRequest(client, {
      ...(scope !== undefined ? { scope } : {}),
      ...(config.resource !== undefined ? { resource: config.resource } : {}),
      ...(config.audience !== undefined ? { audience: config.audience } : {}),
      ...(config.responseMode !== undefined ? { responseMode: config.responseMode } : {}),
      ...(params.silent === true
        ? { prompt: 'none' }
        : named.prompt !== undefined
          ? { prompt: named.prompt }
          : {}),
      ...(named.loginHint !== undefined ? { loginHint: named.loginHint } : {}),
      ...(acrValues !== undefined ? { acrValues } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
      ...(Object.keys(rest).length > 0 ? { authorizationParams: rest } : {}),
    })
  } catch (err) {
    throw asUnavailable(err, 'Login')
  }
  const { transaction } = request
  warnWithoutOfflineAccess(ctx, transaction.scope)
  warnRedirectElsewhere(ctx, params.mountPath, client.redirectUri)
  if (params.silent === true) markSilentLoginTried(session.data, ctx.vault.sessionKey)
  await ctx.vault.addLogin(session, {
    transaction,
    issuer: client.issuer,
    clientId: client.clientId,
    returnTo: params.returnTo,
    ...(params.acrValues !== undefined ? { acrValues: params.acrValues } : {}),
    ...(params.silent === true ? { silent: true as const } : {}),
  })
  return { redirectTo: request.url.href, headers: NO_STORE }
}
