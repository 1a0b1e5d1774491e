import * as openid from 'openid-client'
import { clientAuthContext, getConfiguration, type Client } from './client.js'
import { CodegrantError } from './errors.js'
import { toCodegrantError } from './map-error.js'

/**
 * An RFC 7662 introspection response, as plain JSON. Only `active` is guaranteed; the other
 * members are present when the AS says them (and only when `active` is true).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export interface IntrospectionResponse {
  active: boolean
  scope?: string
  client_id?: string
  username?: string
  token_type?: string
  exp?: number
  iat?: number
  nbf?: number
  sub?: string
  aud?: string | string[]
  iss?: string
  jti?: string
  /** Confirmation (RFC 7800): `jkt` for DPoP-bound, `x5t#S256` for certificate-bound tokens. */
  cnf?: { jkt?: string; 'x5t#S256'?: string; [member: string]: unknown }
  [claim: string]: unknown
}

/**
 * Asks the AS about a token (RFC 7662), authenticating as this client.
 *
 * @param tokenTypeHint `access_token`, `refresh_token` or another value the AS knows.
 * @throws CodegrantError `ERR_UNSUPPORTED` when the AS metadata has no
 *   `introspection_endpoint`; `ERR_TOKEN_ERROR` (with `error`) for an OAuth error answer,
 *   `ERR_RESPONSE_INVALID`, `ERR_TIMEOUT`, `ERR_NETWORK` otherwise.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export async function introspectToken(
  client: Client,
  token: string,
  tokenTypeHint?: string,
): Promise<IntrospectionResponse> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError('"token" must be a non-empty string')
  }
  if (tokenTypeHint !== undefined && (typeof tokenTypeHint !== 'string' || !tokenTypeHint)) {
    throw new TypeError('"tokenTypeHint" must be a non-empty string')
  }
  if (typeof client.metadata.introspection_endpoint !== 'string') {
    throw new CodegrantError(
      'ERR_UNSUPPORTED',
      'the authorization server has no introspection_endpoint',
    )
  }
  const parameters: Record<string, string> = {}
  if (tokenTypeHint) parameters.token_type_hint = tokenTypeHint
  let response: openid.IntrospectionResponse
  try {
    response = await openid.tokenIntrospection(getConfiguration(client), token, parameters)
  } catch (err) {
    throw toCodegrantError(err, 'token introspection', clientAuthContext(client))
  }
  // A plain JSON copy: no helper methods, no symbols.
  return JSON.parse(JSON.stringify(response)) as IntrospectionResponse
}
