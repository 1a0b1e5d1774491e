import type { TokenEndpointResponse, TokenEndpointResponseHelpers } from 'openid-client'
import type { IdTokenClaims } from './types.js'

/**
 * The validated ID token claims of a token response (openid-client validated them and, with
 * `enableNonRepudiationChecks`, the signature), as a plain JSON object; `undefined` when the
 * response has no ID token.
 */
export function toClaims(
  response: TokenEndpointResponse & TokenEndpointResponseHelpers,
): IdTokenClaims | undefined {
  const claims = response.claims()
  return claims === undefined ? undefined : (structuredClone({ ...claims }) as IdTokenClaims)
}
