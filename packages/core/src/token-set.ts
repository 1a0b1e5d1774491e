import { tokenScheme } from '@codegrant/internal'
import type { TokenEndpointResponse } from 'openid-client'
import { CodegrantError } from './errors.js'
import type { TokenSet } from './types.js'

/**
 * Normalises a token endpoint response (any grant) into a plain-JSON {@link TokenSet}:
 * `token_type` as `Bearer` / `DPoP` (compared case-insensitively, anything else refused),
 * `expires_in` turned into an absolute `expires_at`, and, for a refresh, the previous
 * `refresh_token` / `id_token` kept when the response carries none.
 *
 * @throws CodegrantError `ERR_TOKEN_TYPE_UNSUPPORTED`
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function toTokenSet(
  response: TokenEndpointResponse,
  previous?: Pick<TokenSet, 'refresh_token' | 'id_token'>,
  now: number = Math.floor(Date.now() / 1000),
): TokenSet {
  const type = tokenScheme(response.token_type)
  if (type === undefined) {
    throw new CodegrantError(
      'ERR_TOKEN_TYPE_UNSUPPORTED',
      'the token_type is neither Bearer nor DPoP',
    )
  }
  const tokens: TokenSet = {
    access_token: response.access_token,
    token_type: type,
  }
  if (typeof response.expires_in === 'number' && Number.isFinite(response.expires_in)) {
    tokens.expires_at = now + Math.max(0, Math.floor(response.expires_in))
  }
  const refresh = response.refresh_token ?? previous?.refresh_token
  if (refresh !== undefined) tokens.refresh_token = refresh
  const idToken = response.id_token ?? previous?.id_token
  if (idToken !== undefined) tokens.id_token = idToken
  if (typeof response.scope === 'string') tokens.scope = response.scope
  return tokens
}
