import {
  fetchUserInfo as coreFetchUserInfo,
  isCodegrantError,
  refreshTokens,
  type IdTokenClaims,
} from '@codegrant/core'
import { asUnavailable } from './as-error.js'
import { clientOf, identityOf, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { needsRefresh, nowSeconds, type StoredUser } from './session-record.js'
import { keepUserInfoClaims } from './user-info.js'
import type { UserUpdate, VaultSession } from './session-vault.js'
import { userClaimsOf, type UserClaims } from './user-claims.js'

/** Options of {@link RequestAuth.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Refresh even when the access token is still fresh. @default false */
  forceRefresh?: boolean
}

/** `req.auth`: the login state of the request's session. */
export interface RequestAuth {
  /** `true` when the session holds a logged-in user. */
  readonly isAuthenticated: boolean
  /**
   * Who the logged-in user is: the claims of the ID token (completed from UserInfo with
   * `fetchUserInfoAtLogin`, and by `afterCallback`) without the protocol claims of
   * `identityClaimFilter` (`iss`, `aud`, `exp`, `iat`, `nonce`, `acr`, `auth_time`, ...), the
   * OpenID Connect standard claims typed. `sub` is always there.
   */
  readonly user: UserClaims | undefined
  /**
   * Every claim of the logged-in user, the protocol claims included: the validated ID token's
   * (`iss`, `aud`, `acr`, `amr`, `auth_time`, `sid`, ...) plus what UserInfo
   * (`fetchUserInfoAtLogin`) and `afterCallback` added (they never set a protocol claim). Step-up
   * and the claim checks (`claimEquals`, ...) read these.
   *
   * @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken
   */
  readonly idTokenClaims: IdTokenClaims | undefined
  /** When the current access token expires (seconds since the epoch), if known. */
  readonly accessTokenExpiresAt: number | undefined
  /**
   * A valid access token: the stored one while it is fresh (no I/O), else refreshed first, once
   * per session across concurrent requests and instances. Rejects with `AuthError`
   * (`ERR_UNAUTHENTICATED`, `ERR_SESSION_ENDED` after `invalid_grant`, `ERR_REFRESH_TOKEN_MISSING`,
   * `ERR_AS_UNAVAILABLE`, `ERR_STORE_UNAVAILABLE`).
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>
  /**
   * The UserInfo response for the logged-in user (its `sub` checked against the ID token's).
   *
   * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
   */
  fetchUserInfo(): Promise<Record<string, unknown> & { sub: string }>
}

/** The logged-in user of the request's session, when it logged in through `ctx`. */
function currentUser(session: VaultSession, ctx: AuthContext): StoredUser | undefined {
  return ctx.vault.readUser(session, identityOf(ctx))
}

async function endSession(
  session: VaultSession,
  ctx: AuthContext,
  cause: unknown,
  message: string,
): Promise<never> {
  await ctx.vault.endSession(session, 'regenerate').catch(() => undefined)
  throw new AuthError('ERR_SESSION_ENDED', message, { cause })
}

// Runs under the session lock, with the stored user record.
async function refreshStored(
  ctx: AuthContext,
  seen: StoredUser,
  current: StoredUser,
  force: boolean,
): Promise<UserUpdate> {
  const { config, vault } = ctx
  // Another request or instance refreshed since this request loaded the session: use its result.
  if (
    current.tokenVersion !== seen.tokenVersion &&
    !needsRefresh(current, nowSeconds(), config.refreshMargin)
  ) {
    return { keep: true }
  }
  const tokens = current.tokens
  if (tokens.refresh_token === undefined) {
    const exp = current.accessTokenExpiresAt
    if (exp !== undefined && exp <= nowSeconds()) {
      throw new AuthError(
        'ERR_REFRESH_TOKEN_MISSING',
        'The access token expired and there is no refresh token to renew it: log in again, ' +
          'or add offline_access to the scope (and allow the refresh_token grant) so that the ' +
          'authorization server issues one',
      )
    }
    return { keep: true }
  }
  const client = await clientOf(ctx).catch((err: unknown) => {
    throw asUnavailable(err, 'Token refresh')
  })
  try {
    // Core's single-flight shares a finished refresh only while its token is outside this
    // margin; a forced refresh always reaches the AS.
    const result = await refreshTokens(client, tokens, {
      margin: config.refreshMargin,
      force,
      ...(config.resource === undefined ? {} : { resource: config.resource }),
    })
    const owner = { issuer: current.issuer, clientId: current.clientId }
    // A new ID token: its claims, plus what UserInfo gave at login (the vault adds
    // afterCallback's again).
    const claims =
      result.claims === undefined
        ? current.claims
        : config.fetchUserInfoAtLogin
          ? keepUserInfoClaims(result.claims, current.claims)
          : result.claims
    return { write: vault.newUser(owner, result.tokens, claims, current) }
  } catch (err) {
    if (
      isCodegrantError(err, 'ERR_INVALID_GRANT') ||
      isCodegrantError(err, 'ERR_ID_TOKEN_INVALID')
    ) {
      // The grant is gone (revoked, expired, reused): end the session cleanly.
      return { end: err }
    }
    throw asUnavailable(err, 'Token refresh')
  }
}

async function getAccessToken(
  session: VaultSession,
  ctx: AuthContext,
  options?: GetAccessTokenOptions,
): Promise<string> {
  const { config, vault } = ctx
  const user = currentUser(session, ctx)
  if (user === undefined) {
    if (vault.holdsLostUser(session)) {
      // Sealed with a secret that was rotated out (or refused): the login is lost.
      return endSession(session, ctx, undefined, 'The session has ended: please log in again')
    }
    throw new AuthError('ERR_UNAUTHENTICATED', 'Not logged in')
  }
  const force = options?.forceRefresh === true
  if (!force && !needsRefresh(user, nowSeconds(), config.refreshMargin)) {
    return user.tokens.access_token
  }
  const outcome = await vault.updateUser(session, user, (current) =>
    refreshStored(ctx, user, current, force),
  )
  if ('ended' in outcome) {
    return endSession(session, ctx, outcome.ended, 'The session has ended: please log in again')
  }
  return outcome.user.tokens.access_token
}

async function fetchUserInfo(
  session: VaultSession,
  ctx: AuthContext,
): Promise<Record<string, unknown> & { sub: string }> {
  const user = currentUser(session, ctx)
  if (user === undefined) throw new AuthError('ERR_UNAUTHENTICATED', 'Not logged in')
  const accessToken = await getAccessToken(session, ctx)
  const client = await clientOf(ctx).catch((err: unknown) => {
    throw asUnavailable(err, 'UserInfo')
  })
  try {
    return await coreFetchUserInfo(client, accessToken, user.claims.sub)
  } catch (err) {
    // A 4xx is the access token being refused (RFC 6750 3.1), not an unreachable AS.
    if (isCodegrantError(err) && err.code === 'ERR_TOKEN_ERROR') {
      throw new AuthError(
        'ERR_USERINFO_REFUSED',
        'UserInfo: the authorization server refused the access token',
        { cause: err },
      )
    }
    throw asUnavailable(err, 'UserInfo')
  }
}

/**
 * One request's `req.auth`. The getters live on the prototype and the request's session and
 * context in private fields, so building one per request costs one object and two closures
 * (the methods stay callable detached: `const { getAccessToken } = req.auth`).
 */
class SessionAuth implements RequestAuth {
  readonly #session: VaultSession
  readonly #ctx: AuthContext
  readonly getAccessToken: (options?: GetAccessTokenOptions) => Promise<string>
  readonly fetchUserInfo: () => Promise<Record<string, unknown> & { sub: string }>

  constructor(session: VaultSession, ctx: AuthContext) {
    this.#session = session
    this.#ctx = ctx
    this.getAccessToken = (options) => getAccessToken(session, ctx, options)
    this.fetchUserInfo = () => fetchUserInfo(session, ctx)
  }

  get isAuthenticated(): boolean {
    return currentUser(this.#session, this.#ctx) !== undefined
  }

  get user(): UserClaims | undefined {
    const claims = currentUser(this.#session, this.#ctx)?.claims
    return claims === undefined
      ? undefined
      : userClaimsOf(claims, this.#ctx.config.identityClaimFilter)
  }

  get idTokenClaims(): IdTokenClaims | undefined {
    return currentUser(this.#session, this.#ctx)?.claims
  }

  get accessTokenExpiresAt(): number | undefined {
    return currentUser(this.#session, this.#ctx)?.accessTokenExpiresAt
  }
}

/** Builds `req.auth` for one request. Every session read and write goes through the vault. */
export function createRequestAuth(session: VaultSession, ctx: AuthContext): RequestAuth {
  return new SessionAuth(session, ctx)
}
