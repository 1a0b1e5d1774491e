import { randomBytes } from 'node:crypto'
import { buildEndSessionUrl, revokeToken, type Client } from '@codegrant/core'
import type { NextFunction, Request, Response } from 'express'
import { clientOf, identityOf, type AuthContext } from './context.js'
import { sessionOf } from './express-session.js'

async function logout(req: Request, res: Response, ctx: AuthContext): Promise<void> {
  const { config } = ctx
  res.set('Cache-Control', 'no-store')
  const { vault } = ctx
  const session = sessionOf(req)
  const user = vault.readUser(session, identityOf(ctx))
  const tokens = user?.tokens
  // The local session ends first, whatever the AS says afterwards (the vault ends it under the
  // session lock, so an in-flight refresh cannot write it back).
  await vault.endSession(session, 'destroy')
  if (user === undefined) {
    res.redirect(302, config.postLogoutRedirect)
    return
  }

  let client: Client | undefined
  try {
    client = await clientOf(ctx)
  } catch {
    client = undefined
  }
  if (client !== undefined && tokens !== undefined && config.revokeOnLogout) {
    const revocable = typeof client.metadata.revocation_endpoint === 'string'
    if (revocable) {
      const [token, hint] =
        tokens.refresh_token !== undefined
          ? [tokens.refresh_token, 'refresh_token' as const]
          : [tokens.access_token, 'access_token' as const]
      try {
        await revokeToken(client, token, hint)
      } catch (err) {
        config.logger?.warn('token revocation at logout failed', {
          code: (err as { code?: unknown }).code,
        })
      }
    }
  }
  const postLogoutRedirectUri = config.postLogoutRedirectUri ?? client?.postLogoutRedirectUri
  const endSession =
    client === undefined
      ? undefined
      : buildEndSessionUrl(client, {
          ...(tokens?.id_token !== undefined ? { idTokenHint: tokens.id_token } : {}),
          // With a post-logout redirect, a `state` too: some servers (Glewlwyd 2.7) send the
          // browser back only when the request has one. Nothing is kept to check it against:
          // the page it returns to is the public post-logout page.
          ...(postLogoutRedirectUri !== undefined
            ? { postLogoutRedirectUri, state: randomBytes(16).toString('base64url') }
            : {}),
        })
  res.redirect(302, endSession?.href ?? config.postLogoutRedirect)
}

/**
 * `GET|POST /logout`: destroys the local session, revokes the refresh token when the AS offers
 * revocation, then redirects to the AS end_session_endpoint (with `id_token_hint` and
 * `post_logout_redirect_uri`) or to `postLogoutRedirect`.
 *
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export function logoutHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    logout(req, res, ctx).catch(next)
  }
}
