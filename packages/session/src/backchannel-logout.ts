import { isCodegrantError, validateLogoutToken } from '@codegrant/core'
import { clientOf, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { NO_STORE, type JsonReply } from './outcome.js'
import { recordLoggedOut } from './logged-out.js'
import { indexKey } from './session-index.js'
import type { SessionStore } from './session-vault.js'

// A logout token is remembered (for replay detection) at least this long.
const MIN_JTI_TTL = 300
// How long a logged-out cookie session is remembered when absoluteDuration is off (adapters refuse
// that combination; a fallback, not a default): @fastify/secure-session's default expiry.
const MAX_COOKIE_SESSION = 86_401

// Failures on our side of the check (the AS keys could not be fetched): the token may be good,
// so the OP is told to try again later instead of being told the token is bad.
const UNAVAILABLE = new Set([
  'ERR_NETWORK',
  'ERR_TIMEOUT',
  'ERR_RESPONSE_INVALID',
  'ERR_DISCOVERY_FAILED',
])

const RETRY_LATER: JsonReply['headers'] = Object.freeze({ ...NO_STORE, 'Retry-After': '5' })

function reply(status: number, error?: string, description?: string): JsonReply {
  return {
    status,
    headers: NO_STORE,
    body: error === undefined ? undefined : { error, error_description: description ?? '' },
  }
}

/** What a valid, first-use logout token names: the index key (its `sid`, else its `sub`) and both claims. */
interface LogoutTarget {
  readonly iss: string
  readonly kind: 'sid' | 'sub'
  readonly key: string
  readonly sid: string | undefined
  readonly sub: string | undefined
}

/** Ends the sessions of a target; resolves to a refusal to answer instead of 200, if any. */
type EndSessions = (target: LogoutTarget) => Promise<JsonReply | undefined>

async function backchannelLogout(
  ctx: AuthContext,
  body: Readonly<Record<string, unknown>> | undefined,
  end: EndSessions,
): Promise<JsonReply> {
  const { config } = ctx
  const token = body?.logout_token
  if (typeof token !== 'string' || token.length === 0) {
    return reply(400, 'invalid_request', 'logout_token is required')
  }
  let result: Awaited<ReturnType<typeof validateLogoutToken>>
  try {
    const client = await clientOf(ctx)
    result = await validateLogoutToken(client, token)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (isCodegrantError(err) && UNAVAILABLE.has(err.code)) {
      config.logger?.warn('back-channel logout token could not be checked', { code })
      return {
        ...reply(503, 'temporarily_unavailable', 'The logout token cannot be checked right now'),
        headers: RETRY_LATER,
      }
    }
    config.logger?.warn('back-channel logout token refused', { code })
    return reply(400, 'invalid_request', 'The logout token is invalid')
  }
  const { claims, sid, sub } = result
  const iss = String(claims.iss)
  const jti = typeof claims.jti === 'string' ? claims.jti : undefined
  if (jti === undefined) {
    return reply(400, 'invalid_request', 'The logout token is invalid')
  }
  // sid names one login session; a token with only sub ends all of the user's sessions.
  const key =
    sid !== undefined
      ? indexKey('sid', iss, sid)
      : sub !== undefined
        ? indexKey('sub', iss, sub)
        : undefined
  if (key === undefined) {
    return reply(400, 'invalid_request', 'The logout token is invalid')
  }
  const exp = typeof claims.exp === 'number' ? claims.exp : 0
  const ttl = Math.max(MIN_JTI_TTL, exp - Math.floor(Date.now() / 1000) + 60)
  const replayKey = `${iss} ${jti}`
  if (!(await config.sessionIndex.firstUse(replayKey, ttl))) {
    config.logger?.warn('back-channel logout token replayed')
    return reply(400, 'invalid_request', 'The logout token was already used')
  }
  try {
    const kind = sid !== undefined ? 'sid' : 'sub'
    const refused = await end({ iss, kind, key, sid, sub })
    if (refused !== undefined) return refused
  } catch (err) {
    // The logout did not happen: the OP's retry with this same token must not be a "replay".
    await config.sessionIndex.forget(replayKey).catch((cause: unknown) => {
      config.logger?.warn('back-channel logout token could not be forgotten', {
        code: (cause as { code?: unknown }).code,
      })
    })
    throw err
  }
  return reply(200)
}

/**
 * `POST /backchannel-logout`, given the form body (`logout_token`) and the session store:
 * validates the logout token (signature, `iss`, `aud`, `iat`, `events`, no `nonce`, `sid` and/or
 * `sub`), refuses a replayed `jti`, and destroys the sessions it names in the store. Never
 * rejects: the outcome is the status, headers and JSON body to answer the OP with (200 and no
 * body on success; 400 `invalid_request`; 503 `temporarily_unavailable` with `Retry-After` when
 * the AS keys cannot be fetched; 500 `server_error` when the store or index failed, or there is
 * no `store`).
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
 */
export async function backchannelLogOut(
  ctx: AuthContext,
  store: SessionStore | undefined,
  body: Readonly<Record<string, unknown>> | undefined,
): Promise<JsonReply> {
  if (store === undefined) return reply(500, 'server_error', 'No session store')
  return answer(ctx, body, (target) => endStoredSessions(ctx, store, target))
}

/** Ends the stored sessions the index lists under the target's key. */
async function endStoredSessions(
  ctx: AuthContext,
  store: SessionStore,
  { key, sid, sub }: LogoutTarget,
): Promise<JsonReply | undefined> {
  const { config } = ctx
  const sessionIds = await config.sessionIndex.find(key)
  if (sid !== undefined && sub !== undefined) {
    // A token naming a login session by sid and its user by sub: both must hold for every
    // session it ends (a token for one user never ends another user's session).
    for (const sessionId of sessionIds) {
      const user = await ctx.vault.loadUser(store, sessionId)
      if (user !== undefined && user.claims.sub !== sub) {
        config.logger?.warn('back-channel logout token refused: sub does not match the session')
        return reply(400, 'invalid_request', 'The logout token is invalid')
      }
    }
  }
  for (const sessionId of sessionIds) {
    // The vault ends it under the session lock, so an in-flight refresh cannot write it back.
    await ctx.vault.endSessionById(store, sessionId)
  }
  await config.sessionIndex.remove(key)
  return undefined
}

/**
 * `POST /backchannel-logout` for sessions kept in the browser (a cookie session, no store): the
 * same checks of the logout token as {@link backchannelLogOut}, then the logged-out `sid` (of its
 * `sub`, when the token names one) or `sub` is recorded in the session index for
 * `absoluteDuration` (every request with a logged-in user checks it: `endLoggedOutSession`). The
 * same answers as {@link backchannelLogOut}.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
 */
export function backchannelLogOutCookies(
  ctx: AuthContext,
  body: Readonly<Record<string, unknown>> | undefined,
): Promise<JsonReply> {
  return answer(ctx, body, async ({ iss, kind, sid, sub }) => {
    const { absoluteDuration, sessionIndex } = ctx.config
    // A session lives at most absoluteDuration (adapters refuse cookie sessions without one).
    const ttl = absoluteDuration === false ? MAX_COOKIE_SESSION : absoluteDuration
    await recordLoggedOut(sessionIndex, kind, iss, (kind === 'sid' ? sid : sub) as string, sub, ttl)
    return undefined
  })
}

async function answer(
  ctx: AuthContext,
  body: Readonly<Record<string, unknown>> | undefined,
  end: EndSessions,
): Promise<JsonReply> {
  try {
    return await backchannelLogout(ctx, body, end)
  } catch (err) {
    const status = err instanceof AuthError ? err.status : 500
    ctx.config.logger?.warn('back-channel logout failed', {
      code: (err as { code?: unknown }).code,
    })
    return reply(status >= 500 ? status : 500, 'server_error', 'Logout could not be completed')
  }
}
