// Local AS set-up shared by integration tests: extra clients and the web app's AS settings.
import {
  localClientScope,
  localClients,
  localPostLogoutRedirectUris,
  localRedirectUris,
  type LocalAs,
} from '@codegrant/local-as'

/**
 * Registers a confidential web client (client_secret_basic, code and refresh grants, the local
 * redirect URIs) whose sessions the AS ends by back-channel logout at `backchannelLogoutUri`.
 */
export function addBackchannelClient(
  as: LocalAs,
  client: { clientId: string; clientSecret: string; backchannelLogoutUri: string },
): Promise<void> {
  return as.addClient({
    client_id: client.clientId,
    client_secret: client.clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [...localRedirectUris],
    post_logout_redirect_uris: [...localPostLogoutRedirectUris],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: localClientScope,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: true,
  })
}

/** examples/web-app's AS settings: `as` and the built-in `web-basic` client. */
export function webAppEnv(as: LocalAs): Record<string, string> {
  return {
    ISSUER_URL: as.issuer,
    CLIENT_ID: localClients.webBasic.clientId,
    CLIENT_SECRET: localClients.webBasic.clientSecret!,
  }
}
