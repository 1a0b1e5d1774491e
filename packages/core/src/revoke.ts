import * as openid from 'openid-client'
import { clientAuthContext, getConfiguration, type Client } from './client.js'
import { CodegrantError } from './errors.js'
import { toCodegrantError } from './map-error.js'

/** `token_type_hint` values of a revocation request. */
export type RevocationTokenTypeHint = 'refresh_token' | 'access_token'

/**
 * Revokes a token at the AS (RFC 7009). Revoking a refresh token usually ends the whole grant.
 * An unknown or already revoked token is not an error (the AS answers 200).
 *
 * @throws CodegrantError `ERR_UNSUPPORTED` when the AS metadata has no `revocation_endpoint`;
 *   `ERR_TOKEN_ERROR` (with `error`) for an OAuth error answer, `ERR_RESPONSE_INVALID`,
 *   `ERR_TIMEOUT`, `ERR_NETWORK` otherwise.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function revokeToken(
  client: Client,
  token: string,
  tokenTypeHint?: RevocationTokenTypeHint,
): Promise<void> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError('"token" must be a non-empty string')
  }
  if (
    tokenTypeHint !== undefined &&
    tokenTypeHint !== 'refresh_token' &&
    tokenTypeHint !== 'access_token'
  ) {
    throw new TypeError('"tokenTypeHint" must be "refresh_token" or "access_token"')
  }
  if (typeof client.metadata.revocation_endpoint !== 'string') {
    throw new CodegrantError(
      'ERR_UNSUPPORTED',
      'the authorization server has no revocation_endpoint',
    )
  }
  const parameters: Record<string, string> = {}
  if (tokenTypeHint) parameters.token_type_hint = tokenTypeHint
  try {
    await openid.tokenRevocation(getConfiguration(client), token, parameters)
  } catch (err) {
    throw toCodegrantError(err, 'token revocation', clientAuthContext(client))
  }
}
