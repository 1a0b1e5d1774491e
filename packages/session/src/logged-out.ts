// Back-channel logout for sessions kept in the browser: a logout token cannot delete a cookie, so
// the logged-out (iss, sid) / (iss, sub) are recorded in the session index, and each request with
// a logged-in user checks them before the user counts as logged in.
import { identityOf, type AuthContext } from './context.js'
import { indexKey, type SessionIndex } from './session-index.js'
import { nowSeconds, type StoredUser } from './session-record.js'
import type { VaultSession } from './session-vault.js'

// Its own key space in the index: never a key the callback indexes sessions under.
const PREFIX = 'logged-out:'

/**
 * Records that the sessions a logout token names are logged out, for `ttl` seconds (the longest a
 * session may live, `absoluteDuration`). A `sid` key ends the sessions of that AS session (of the
 * user `sub` when the token names one); a `sub` key ends every session of the user that logged in
 * up to now.
 */
export async function recordLoggedOut(
  index: SessionIndex,
  kind: 'sid' | 'sub',
  issuer: string,
  value: string,
  sub: string | undefined,
  ttl: number,
): Promise<void> {
  await index.add([PREFIX + indexKey(kind, issuer, value)], `${nowSeconds()} ${sub ?? ''}`, ttl)
}

/** Whether a back-channel logout recorded by {@link recordLoggedOut} ends this user's session. */
export async function isLoggedOut(index: SessionIndex, user: StoredUser): Promise<boolean> {
  const { sid, sub } = user.claims
  const [bySid, bySub] = await Promise.all([
    typeof sid === 'string'
      ? index.find(PREFIX + indexKey('sid', user.issuer, sid))
      : Promise.resolve([]),
    index.find(PREFIX + indexKey('sub', user.issuer, sub)),
  ])
  const entries = (members: string[]) =>
    members.map((member) => {
      const space = member.indexOf(' ')
      return { at: Number(member.slice(0, space)), sub: member.slice(space + 1) }
    })
  if (entries(bySid).some((e) => e.sub === '' || e.sub === sub)) return true
  return entries(bySub).some((e) => e.at >= user.loggedInAt)
}

/**
 * The per-request check of a cookie session with back-channel logout on: when the session's user
 * was logged out by a logout token, the session ends (a new empty one) before the request goes on.
 * Returns a promise only when the session holds a user (it rejects with `ERR_STORE_UNAVAILABLE`
 * when the index fails: fail closed); otherwise `undefined`, with no I/O.
 */
export function endLoggedOutSession(
  ctx: AuthContext,
  session: VaultSession,
): Promise<void> | undefined {
  const user = ctx.vault.readUser(session, identityOf(ctx))
  if (user === undefined) return undefined
  return isLoggedOut(ctx.config.sessionIndex, user).then((out) =>
    out ? ctx.vault.endSession(session, 'regenerate') : undefined,
  )
}
