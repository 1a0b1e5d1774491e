import { randomBytes } from 'node:crypto'
import { buildEndSessionUrl, revokeToken, type Client } from '@codegrant/core'
import { clientOf, identityOf, type AuthContext } from './context.js'
import { NO_STORE, type Redirect } from './outcome.js'
import { markSilentLoginTried } from './session-record.js'
import type { VaultSession } from './session-vault.js'

/** What a logout does beyond the configured defaults ({@link logoutParams} checks them). */
export interface LogoutParams {
  /** A checked same-origin path to go to when the logout does not go through the AS. */
  returnTo: string
  /** End the local session only: no redirect to the AS's end_session_endpoint. */
  localLogout: boolean
}

/**
 * `GET|POST /logout`: destroys the local session (under the session lock, so an in-flight
 * refresh cannot write it back), revokes the refresh token when the AS offers revocation, and
 * returns where to redirect (302): the AS end_session_endpoint (with `id_token_hint` and
 * `post_logout_redirect_uri`), or `params.returnTo` (default `logoutReturnTo`) for a local logout
 * (`params.localLogout`, default the `localLogout` option) or an AS without one. Answer its errors
 * with `Cache-Control: no-store` too.
 *
 * @throws AuthError `ERR_STORE_UNAVAILABLE` when the session could not be destroyed.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function logOut(
  ctx: AuthContext,
  session: VaultSession,
  params: LogoutParams = {
    returnTo: ctx.config.logoutReturnTo,
    localLogout: ctx.config.localLogout,
  },
): Promise<Redirect> {
  const { config, vault } = ctx
  const { returnTo } = params
  const user = vault.readUser(session, identityOf(ctx))
  const tokens = user?.tokens
  // The local session ends first, whatever the AS says afterwards.
  if (config.attemptSilentLogin) {
    // A new session that remembers the logout: a silent login must not log the user back in
    // (after a local logout the AS session is still there).
    await vault.endSession(session, 'regenerate')
    markSilentLoginTried(session.data, vault.sessionKey)
    await vault.save(session)
  } else {
    await vault.endSession(session, 'destroy')
  }
  if (user === undefined) return { redirectTo: returnTo, headers: NO_STORE }

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
  if (params.localLogout) return { redirectTo: returnTo, headers: NO_STORE }
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
  return { redirectTo: endSession?.href ?? returnTo, headers: NO_STORE }
}
