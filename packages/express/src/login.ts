import { createAuthorizationRequest } from '@codegrant/core'
import type { NextFunction, Request, Response } from 'express'
import { asUnavailable } from './as-error.js'
import { clientOf, contextOf, type AuthContext } from './context.js'
import { sessionOf } from './express-session.js'
import { safeReturnTo } from './return-to.js'

/** What a login asks for beyond the configured defaults. */
export interface LoginParams {
  /** A checked same-origin path to go to afterwards. */
  returnTo: string
  /** Step-up: `acr_values` to request (space-separated). */
  acrValues?: string
  /** Step-up: `max_age` to request (seconds). */
  maxAge?: number
}

// Routers that already warned about a scope without offline_access; about the redirect URI.
const warned = new WeakSet<AuthContext>()
const warnedRedirect = new WeakSet<AuthContext>()

/**
 * `auth()` checked that the `redirectUri` path ends with `routes.callback`; with the mount path
 * known, a longer path is right only behind a proxy that strips the difference: say so once.
 */
function warnRedirectElsewhere(req: Request, ctx: AuthContext, redirectUri: string): void {
  if (warnedRedirect.has(ctx) || ctx.config.logger === undefined) return
  // In a guard mounted elsewhere (step-up), the router's mount path is the one it attached.
  const attached = contextOf(req)
  const base = attached?.ctx === ctx ? attached.base : req.baseUrl
  const served = `${base}${ctx.config.routes.callback}`
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
 * the session, then redirects to the AS.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1 (state, PKCE)
 */
export async function startLogin(
  req: Request,
  res: Response,
  ctx: AuthContext,
  params: LoginParams,
): Promise<void> {
  const { config } = ctx
  let request: Awaited<ReturnType<typeof createAuthorizationRequest>>
  let client: Awaited<ReturnType<typeof clientOf>>
  try {
    client = await clientOf(ctx)
    request = await createAuthorizationRequest(client, {
      ...(config.scope !== undefined ? { scope: config.scope } : {}),
      ...(config.resource !== undefined ? { resource: config.resource } : {}),
      ...(config.audience !== undefined ? { audience: config.audience } : {}),
      ...(config.responseMode !== undefined ? { responseMode: config.responseMode } : {}),
      ...(params.acrValues !== undefined ? { acrValues: params.acrValues } : {}),
      ...(params.maxAge !== undefined ? { maxAge: params.maxAge } : {}),
      ...(config.authorizationParams !== undefined
        ? { extraParams: { ...config.authorizationParams } }
        : {}),
    })
  } catch (err) {
    throw asUnavailable(err, 'Login')
  }
  const { transaction } = request
  warnWithoutOfflineAccess(ctx, transaction.scope)
  warnRedirectElsewhere(req, ctx, client.redirectUri)
  await ctx.vault.addLogin(sessionOf(req), {
    transaction,
    issuer: client.issuer,
    clientId: client.clientId,
    returnTo: params.returnTo,
    ...(params.acrValues !== undefined ? { acrValues: params.acrValues } : {}),
  })
  res.set('Cache-Control', 'no-store')
  res.redirect(302, request.url.href)
}

/** `GET /login?returnTo=/path`. */
export function loginHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const returnTo = safeReturnTo(req.query.returnTo) ?? ctx.config.defaultReturnTo
    startLogin(req, res, ctx, { returnTo }).catch(next)
  }
}
