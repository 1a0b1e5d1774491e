import * as openid from 'openid-client'
import { getConfiguration, type Client } from './client.js'
import { dpopOptions, type DPoPKey } from './dpop.js'
import { CodegrantError } from './errors.js'
import { toCodegrantError } from './map-error.js'

/** Claims returned by the UserInfo endpoint; `sub` is always there and checked. */
export type UserInfo = Record<string, unknown> & { sub: string }

/** Options of {@link fetchUserInfo}. */
export interface FetchUserInfoOptions {
  /**
   * The DPoP key the access token is bound to (its `token_type` is `DPoP`).
   *
   * @default the client's `dpop` key, if any
   */
  dpop?: DPoPKey
}

/**
 * Calls the UserInfo endpoint with an access token and checks that the returned `sub` equals
 * `expectedSub` (the ID token's), as OpenID Connect Core requires.
 *
 * @throws CodegrantError `ERR_USERINFO_SUB_MISMATCH` when `sub` differs; `ERR_UNSUPPORTED`
 *   when the AS has no `userinfo_endpoint`; otherwise the mapped transport / OAuth error
 *   (`ERR_TOKEN_ERROR` with `error` such as `invalid_token`, `ERR_RESPONSE_INVALID`,
 *   `ERR_TIMEOUT`, `ERR_NETWORK`, `ERR_DPOP`).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfoResponse
 */
export async function fetchUserInfo(
  client: Client,
  accessToken: string,
  expectedSub: string,
  options: FetchUserInfoOptions = {},
): Promise<UserInfo> {
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new TypeError('"accessToken" must be a non-empty string')
  }
  if (typeof expectedSub !== 'string' || expectedSub.length === 0) {
    throw new TypeError('"expectedSub" must be a non-empty string')
  }
  if (typeof client.metadata.userinfo_endpoint !== 'string') {
    throw new CodegrantError('ERR_UNSUPPORTED', 'the authorization server has no userinfo_endpoint')
  }
  const dpop = await dpopOptions(client, options.dpop)
  let claims: openid.UserInfoResponse
  try {
    claims = await openid.fetchUserInfo(getConfiguration(client), accessToken, expectedSub, dpop)
  } catch (err) {
    // toCodegrantError turns openid-client's "sub" comparison failure into
    // ERR_USERINFO_SUB_MISMATCH.
    throw toCodegrantError(err, 'userinfo request')
  }
  return JSON.parse(JSON.stringify(claims)) as UserInfo
}
