import {
  fetchUserInfo as coreFetchUserInfo,
  isCodegrantError,
  refreshTokens,
  type IdTokenClaims,
  type TokenSet,
} from '@codegrant/core'
import type { Request } from 'express'
import { asUnavailable } from './as-error.js'
import { recentRefresh, rememberRefresh, storeOps, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { readSection, nowSeconds, type UserRecord } from './session-data.js'
import { regenerateSession } from './session-ops.js'
import { needsRefresh, openTokens, sealUser } from './user-record.js'
import { withSessionLock } from './store-guard.js'

/** Options of {@link RequestAuth.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Refresh even when the access token is still fresh. @default false */
  forceRefresh?: boolean
}

/** `req.auth`: the login state of the request's session. */
export interface RequestAuth {
  /** `true` when the session holds a logged-in user. */
  readonly isAuthenticated: boolean
  /** The ID token claims of the logged-in user. */
  readonly user: IdTokenClaims | undefined
  /** When the current access token expires (seconds since the epoch), if known. */
  readonly accessTokenExpiresAt: number | undefined
  /**
   * A valid access token: the stored one while it is fresh (no I/O), else refreshed first, once
   * per session across concurrent requests and instances. Rejects with `AuthError`
   * (`ERR_UNAUTHENTICATED`, `ERR_SESSION_ENDED` after `invalid_grant`, `ERR_TOKEN_EXPIRED`,
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

/** The stored tokens were encrypted with a secret no longer configured. */
class UndecryptableTokens extends Error {}

/** Builds `req.auth` for one request. Tokens are decrypted at most once per record. */
export function createRequestAuth(req: Request, ctx: AuthContext): RequestAuth {
  const { config } = ctx
  let opened: { user: UserRecord; tokens: TokenSet } | undefined

  const currentUser = (): UserRecord | undefined =>
    req.session === undefined ? undefined : readSection(req.session, config.sessionKey)?.user

  const tokensOf = (user: UserRecord): TokenSet => {
    if (opened?.user === user) return opened.tokens
    const tokens = openTokens(config.cipher, user)
    if (tokens === undefined) throw new UndecryptableTokens()
    opened = { user, tokens }
    return tokens
  }

  const adopt = (user: UserRecord): void => {
    const section =
      req.session === undefined ? undefined : readSection(req.session, config.sessionKey)
    if (section !== undefined) section.user = user
  }

  const endSession = async (cause: unknown, message: string): Promise<never> => {
    // Under the session lock, like every other destruction of a session with tokens.
    const sid = req.sessionID
    await withSessionLock(ctx.guard, sid, () => regenerateSession(req)).catch(() => undefined)
    throw new AuthError('ERR_SESSION_ENDED', message, { cause })
  }

  const refresh = async (mine: UserRecord): Promise<string> => {
    const sid = req.sessionID
    const now = nowSeconds()
    // A request of this process refreshed this session a moment ago: use its result.
    const recent = recentRefresh(ctx, sid)
    if (
      recent !== undefined &&
      recent.v > mine.v &&
      !needsRefresh(recent, now, config.refreshMargin)
    ) {
      adopt(recent)
      return tokensOf(recent).access_token
    }

    const outcome = await withSessionLock(ctx.guard, sid, () => refreshLocked(sid, mine))
    if ('token' in outcome) return outcome.token
    return endSession(outcome.ended, 'The session has ended: please log in again')
  }

  // Runs under the session lock.
  const refreshLocked = async (
    sid: string,
    mine: UserRecord,
  ): Promise<{ token: string } | { ended: unknown }> => {
    const ops = storeOps(ctx, req)
    // Re-read: another request or instance may have refreshed (and rotated the refresh token)
    // since this request loaded the session.
    const stored = await ops.get(sid)
    const section = stored === undefined ? undefined : readSection(stored, config.sessionKey)
    const theirs = section?.user
    if (stored === undefined || section === undefined || theirs === undefined) {
      return { ended: new AuthError('ERR_SESSION_ENDED', 'The session was ended elsewhere') }
    }
    if (theirs.v !== mine.v) {
      adopt(theirs)
      if (!needsRefresh(theirs, nowSeconds(), config.refreshMargin)) {
        return { token: tokensOf(theirs).access_token }
      }
    }
    const tokens = tokensOf(theirs)
    if (tokens.refresh_token === undefined) {
      if (theirs.exp !== undefined && theirs.exp <= nowSeconds()) {
        throw new AuthError(
          'ERR_TOKEN_EXPIRED',
          'The access token expired and there is no refresh token',
        )
      }
      return { token: tokens.access_token }
    }
    const client = await config.getClient().catch((err: unknown) => {
      throw asUnavailable(err, 'Token refresh')
    })
    let result: Awaited<ReturnType<typeof refreshTokens>>
    try {
      result = await refreshTokens(
        client,
        tokens,
        config.resource === undefined ? undefined : { resource: config.resource },
      )
    } catch (err) {
      if (
        isCodegrantError(err, 'ERR_INVALID_GRANT') ||
        isCodegrantError(err, 'ERR_ID_TOKEN_INVALID')
      ) {
        // The grant is gone (revoked, expired, reused): end the session cleanly.
        await ops.destroy(sid)
        ctx.recent.delete(sid)
        return { ended: err }
      }
      throw asUnavailable(err, 'Token refresh')
    }
    const next = sealUser(
      config.cipher,
      result.tokens,
      result.claims ?? theirs.claims,
      nowSeconds(),
      theirs,
    )
    // Write back only over the record this refresh started from (compare on version), and never
    // bring back a session that was destroyed meanwhile (logout, back-channel logout, another
    // instance after a lost lock): re-read it first. We still hold the session lock here.
    const current = await ops.get(sid)
    const currentSection =
      current === undefined ? undefined : readSection(current, config.sessionKey)
    const latest = currentSection?.user
    if (current === undefined || currentSection === undefined || latest === undefined) {
      ctx.recent.delete(sid)
      return { ended: new AuthError('ERR_SESSION_ENDED', 'The session was ended elsewhere') }
    }
    if (latest.v !== theirs.v) {
      // Someone else wrote a token set meanwhile: theirs is the one the store keeps.
      adopt(latest)
      return { token: tokensOf(latest).access_token }
    }
    currentSection.user = next
    await ops.set(sid, current)
    rememberRefresh(ctx, sid, next)
    opened = { user: next, tokens: result.tokens }
    adopt(next)
    return { token: result.tokens.access_token }
  }

  const getAccessToken = async (options?: GetAccessTokenOptions): Promise<string> => {
    const user = currentUser()
    if (user === undefined) throw new AuthError('ERR_UNAUTHENTICATED', 'Not logged in')
    try {
      const force = options?.forceRefresh === true
      if (!force && !needsRefresh(user, nowSeconds(), config.refreshMargin)) {
        return tokensOf(user).access_token
      }
      return await refresh(user)
    } catch (err) {
      if (!(err instanceof UndecryptableTokens)) throw err
      // Encrypted with a secret that was rotated out: the tokens are lost, so is the login.
      return endSession(undefined, 'The session has ended: please log in again')
    }
  }

  return {
    get isAuthenticated() {
      return currentUser() !== undefined
    },
    get user() {
      return currentUser()?.claims
    },
    get accessTokenExpiresAt() {
      return currentUser()?.exp
    },
    getAccessToken,
    async fetchUserInfo() {
      const user = currentUser()
      if (user === undefined) throw new AuthError('ERR_UNAUTHENTICATED', 'Not logged in')
      const accessToken = await getAccessToken()
      const client = await config.getClient().catch((err: unknown) => {
        throw asUnavailable(err, 'UserInfo')
      })
      try {
        return await coreFetchUserInfo(client, accessToken, user.claims.sub)
      } catch (err) {
        throw asUnavailable(err, 'UserInfo')
      }
    },
  }
}
