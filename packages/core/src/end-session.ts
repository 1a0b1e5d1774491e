import { optionalString } from '@codegrant/internal'
import * as openid from 'openid-client'
import { getConfiguration, type Client } from './client.js'

/** Parameters of {@link buildEndSessionUrl}. */
export interface EndSessionParams {
  /** The ID token of the session to end (recommended: lets the AS skip the confirmation). */
  idTokenHint?: string
  /** Where the AS sends the browser afterwards. @default the client's `postLogoutRedirectUri` */
  postLogoutRedirectUri?: string
  /** Opaque value the AS echoes on the post-logout redirect. */
  state?: string
  /** Hint about the End-User being logged out. */
  logoutHint?: string
}

/**
 * Builds the RP-Initiated Logout URL (`end_session_endpoint` with `client_id`,
 * `id_token_hint`, `post_logout_redirect_uri`, `state`, `logout_hint`). Redirect the browser
 * there after ending the local session.
 *
 * @returns the URL, or `undefined` when the AS has no `end_session_endpoint`.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 */
export function buildEndSessionUrl(client: Client, params: EndSessionParams = {}): URL | undefined {
  if (typeof params !== 'object' || params === null) {
    throw new TypeError('"params" must be an object')
  }
  const idTokenHint = optionalString(params.idTokenHint, 'idTokenHint')
  const postLogoutRedirectUri =
    optionalString(params.postLogoutRedirectUri, 'postLogoutRedirectUri') ??
    client.postLogoutRedirectUri
  const state = optionalString(params.state, 'state')
  const logoutHint = optionalString(params.logoutHint, 'logoutHint')
  if (typeof client.metadata.end_session_endpoint !== 'string') return undefined

  const parameters: Record<string, string> = { client_id: client.clientId }
  if (idTokenHint) parameters.id_token_hint = idTokenHint
  if (postLogoutRedirectUri) parameters.post_logout_redirect_uri = postLogoutRedirectUri
  if (state) parameters.state = state
  if (logoutHint) parameters.logout_hint = logoutHint
  return openid.buildEndSessionUrl(getConfiguration(client), parameters)
}
