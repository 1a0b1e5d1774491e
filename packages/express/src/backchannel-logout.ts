import { isCodegrantError, validateLogoutToken } from '@codegrant/core'
import type { Request, Response } from 'express'
import { clientOf, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { sessionOf } from './express-session.js'
import { indexKey } from './session-index.js'

// A logout token is remembered (for replay detection) at least this long.
const MIN_JTI_TTL = 300

// Failures on our side of the check (the AS keys could not be fetched): the token may be good,
// so the OP is told to try again later instead of being told the token is bad.
const UNAVAILABLE = new Set([
  'ERR_NETWORK',
  'ERR_TIMEOUT',
  'ERR_RESPONSE_INVALID',
  'ERR_DISCOVERY_FAILED',
])

function reply(res: Response, status: number, error?: string, description?: string): void {
  res.set('Cache-Control', 'no-store')
  if (error === undefined) {
    res.status(status).end()
    return
  }
  res.status(status).json({ error, error_description: description })
}

async function backchannelLogout(req: Request, res: Response, ctx: AuthContext): Promise<void> {
  const { config } = ctx
  const token = (req.body as Record<string, unknown> | undefined)?.logout_token
  if (typeof token !== 'string' || token.length === 0) {
    reply(res, 400, 'invalid_request', 'logout_token is required')
    return
  }
  let result: Awaited<ReturnType<typeof validateLogoutToken>>
  try {
    const client = await clientOf(ctx)
    result = await validateLogoutToken(client, token)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (isCodegrantError(err) && UNAVAILABLE.has(err.code)) {
      config.logger?.warn('back-channel logout token could not be checked', { code })
      res.set('Retry-After', '5')
      reply(res, 503, 'temporarily_unavailable', 'The logout token cannot be checked right now')
      return
    }
    config.logger?.warn('back-channel logout token refused', { code })
    reply(res, 400, 'invalid_request', 'The logout token is invalid')
    return
  }
  const { claims, sid, sub } = result
  const iss = String(claims.iss)
  const jti = typeof claims.jti === 'string' ? claims.jti : undefined
  if (jti === undefined) {
    reply(res, 400, 'invalid_request', 'The logout token is invalid')
    return
  }
  // sid names one login session; a token with only sub ends all of the user's sessions.
  const key =
    sid !== undefined
      ? indexKey('sid', iss, sid)
      : sub !== undefined
        ? indexKey('sub', iss, sub)
        : undefined
  if (key === undefined) {
    reply(res, 400, 'invalid_request', 'The logout token is invalid')
    return
  }
  const exp = typeof claims.exp === 'number' ? claims.exp : 0
  const ttl = Math.max(MIN_JTI_TTL, exp - Math.floor(Date.now() / 1000) + 60)
  const replayKey = `${iss} ${jti}`
  if (!(await config.sessionIndex.firstUse(replayKey, ttl))) {
    config.logger?.warn('back-channel logout token replayed')
    reply(res, 400, 'invalid_request', 'The logout token was already used')
    return
  }
  try {
    const { store } = sessionOf(req)
    const sessionIds = await config.sessionIndex.find(key)
    if (sid !== undefined && sub !== undefined) {
      // A token naming a login session by sid and its user by sub: both must hold for every
      // session it ends (a token for one user never ends another user's session).
      for (const sessionId of sessionIds) {
        const user = await ctx.vault.loadUser(store, sessionId)
        if (user !== undefined && user.claims.sub !== sub) {
          config.logger?.warn('back-channel logout token refused: sub does not match the session')
          reply(res, 400, 'invalid_request', 'The logout token is invalid')
          return
        }
      }
    }
    for (const sessionId of sessionIds) {
      // The vault ends it under the session lock, so an in-flight refresh cannot write it back.
      await ctx.vault.endSessionById(store, sessionId)
    }
    await config.sessionIndex.remove(key)
  } catch (err) {
    // The logout did not happen: the OP's retry with this same token must not be a "replay".
    await config.sessionIndex.forget(replayKey).catch((cause: unknown) => {
      config.logger?.warn('back-channel logout token could not be forgotten', {
        code: (cause as { code?: unknown }).code,
      })
    })
    throw err
  }
  reply(res, 200)
}

/**
 * `POST /backchannel-logout`: validates the logout token (signature, `iss`, `aud`, `iat`,
 * `events`, no `nonce`, `sid` and/or `sub`), refuses a replayed `jti`, and destroys the sessions
 * it names in the session store.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
 */
export function backchannelLogoutHandler(ctx: AuthContext) {
  return (req: Request, res: Response): void => {
    if (req.sessionStore === undefined) {
      reply(res, 500, 'server_error', 'No session store')
      return
    }
    backchannelLogout(req, res, ctx).catch((err: unknown) => {
      const status = err instanceof AuthError ? err.status : 500
      ctx.config.logger?.warn('back-channel logout failed', {
        code: (err as { code?: unknown }).code,
      })
      if (!res.headersSent)
        reply(res, status >= 500 ? status : 500, 'server_error', 'Logout could not be completed')
    })
  }
}
