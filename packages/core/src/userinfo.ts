import { isSafeErrorCode, tokenScheme } from '@codegrant/internal'
import * as openid from 'openid-client'
import { getConfiguration, type Client } from './client.js'
import type { DpopKey } from './dpop-key.js'
import { dpopOptions } from './dpop.js'
import { CodegrantError } from './errors.js'
import { toCodegrantError } from './map-error.js'
import type { TokenSet } from './types.js'

/** Claims returned by the UserInfo endpoint; `sub` is always there and checked. */
export type UserInfo = Record<string, unknown> & { sub: string }

/** Options of {@link fetchUserInfo}. */
export interface FetchUserInfoOptions {
  /**
   * The DPoP key the access token is bound to (its `token_type` is `DPoP`).
   *
   * @default the client's `dpop` key, if any
   */
  dpop?: DpopKey
}

/**
 * Calls the UserInfo endpoint with an access token and checks that the returned `sub` equals
 * `expectedSub` (the ID token's), as OpenID Connect Core requires.
 *
 * Pass the token set (or `{ access_token, token_type }`) to let its `token_type` choose the
 * scheme: `Bearer`, or `DPoP` with a proof (a DPoP key is then required). A bare access token
 * string is sent with DPoP when a key is given or configured on the client, else as Bearer.
 *
 * @throws CodegrantError `ERR_USERINFO_SUB_MISMATCH` when `sub` differs; `ERR_UNSUPPORTED`
 *   when the AS has no `userinfo_endpoint`; otherwise the mapped transport / OAuth error
 *   (`ERR_TOKEN_ERROR` with `error` such as `invalid_token`, `ERR_RESPONSE_INVALID`,
 *   `ERR_TIMEOUT`, `ERR_NETWORK`, `ERR_DPOP`).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfoResponse
 */
export async function fetchUserInfo(
  client: Client,
  accessToken: string | Pick<TokenSet, 'access_token' | 'token_type'>,
  expectedSub: string,
  options: FetchUserInfoOptions = {},
): Promise<UserInfo> {
  const tokens = typeof accessToken === 'string' ? undefined : accessToken
  const token = typeof accessToken === 'string' ? accessToken : accessToken?.access_token
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError('"accessToken" must be a non-empty string or a TokenSet with one')
  }
  let scheme: 'Bearer' | 'DPoP' | undefined
  if (tokens !== undefined) {
    const type = tokenScheme(tokens.token_type)
    if (type === undefined) {
      throw new CodegrantError(
        'ERR_TOKEN_TYPE_UNSUPPORTED',
        'the token_type is neither Bearer nor DPoP',
      )
    }
    scheme = type
  }
  if (typeof expectedSub !== 'string' || expectedSub.length === 0) {
    throw new TypeError('"expectedSub" must be a non-empty string')
  }
  if (typeof client.metadata.userinfo_endpoint !== 'string') {
    throw new CodegrantError('ERR_UNSUPPORTED', 'the authorization server has no userinfo_endpoint')
  }
  const dpop = scheme === 'Bearer' ? {} : await dpopOptions(client, options.dpop)
  if (scheme === 'DPoP' && dpop.DPoP === undefined) {
    throw new CodegrantError('ERR_DPOP', 'the access token is DPoP-bound but no DPoP key is set')
  }
  let claims: openid.UserInfoResponse
  try {
    claims = await openid.fetchUserInfo(getConfiguration(client), token, expectedSub, dpop)
  } catch (err) {
    // toCodegrantError turns openid-client's "sub" comparison failure into
    // ERR_USERINFO_SUB_MISMATCH.
    throw userInfoError(toCodegrantError(err, 'userinfo request'))
  }
  return JSON.parse(JSON.stringify(claims)) as UserInfo
}

/**
 * A 4xx from the userinfo endpoint is the access token being refused (RFC 6750 section 3.1),
 * not the AS being unavailable: `ERR_TOKEN_ERROR` with `status`, and a message saying what to do.
 */
function userInfoError(mapped: CodegrantError): CodegrantError {
  const status = mapped.status
  if (
    status === undefined ||
    status < 400 ||
    status >= 500 ||
    (mapped.code !== 'ERR_TOKEN_ERROR' && mapped.code !== 'ERR_RESPONSE_INVALID')
  ) {
    return mapped
  }
  const error = isSafeErrorCode(mapped.error) ? `${mapped.error}, ` : ''
  return new CodegrantError(
    'ERR_TOKEN_ERROR',
    `userinfo request: the userinfo endpoint refused the access token (${error}HTTP ${status}): it may be expired or revoked (refresh it or log in again), or lack the "openid" scope`,
    {
      cause: mapped,
      status,
      ...(mapped.error !== undefined && { error: mapped.error }),
      ...(mapped.error_description !== undefined && {
        error_description: mapped.error_description,
      }),
    },
  )
}
