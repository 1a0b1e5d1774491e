import { createAuthorizationRequest } from '@codegrant/core'
import type { NextFunction, Request, Response } from 'express'
import { asUnavailable } from './as-error.js'
import { clientOf, type AuthContext } from './context.js'
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
