import { clientOf, identityOf, isShared, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { nowSeconds } from './session-record.js'
import type { VaultSession } from './session-vault.js'

/**
 * The error for a request that reached the login middleware without a session: the store
 * failed (`ERR_STORE_UNAVAILABLE`, 503) when an earlier request had one, else the session
 * middleware is not mounted (`ERR_SESSION_REQUIRED`, 500, with `howToMount` as the message).
 */
export function missingSession(ctx: AuthContext, howToMount: string): AuthError {
  return ctx.sawSession
    ? new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable')
    : new AuthError('ERR_SESSION_REQUIRED', howToMount)
}

/**
 * The first step for every request that has a session: notes that sessions arrive, wraps the
 * store once (the vault's guarded writes and touch throttle), and, when several middlewares
 * share the session key and this one's client is not known yet while the session holds a user,
 * loads the client (whose user it is depends on its issuer). Returns a promise only in that
 * last case (it never rejects); otherwise `undefined`, so the hot path stays synchronous.
 */
export function prepareSession(ctx: AuthContext, session: VaultSession): Promise<void> | undefined {
  ctx.sawSession = true
  ctx.vault.attach(session.store)
  if (isShared(ctx) && ctx.owner === undefined && ctx.vault.readUser(session) !== undefined) {
    return clientOf(ctx).then(
      () => undefined,
      () => undefined,
    )
  }
  return undefined
}

/** Whether the session holds a user who logged in through this middleware. */
export function holdsOwnUser(ctx: AuthContext, session: VaultSession): boolean {
  return ctx.vault.readUser(session, identityOf(ctx)) !== undefined
}

/**
 * Ends the session (a new empty one under a new id) when its user logged in longer ago than
 * `absoluteDuration`, whatever the activity. Returns the promise of that only when it happens
 * (it rejects with `ERR_STORE_UNAVAILABLE`), otherwise `undefined`.
 */
export function endExpiredSession(
  ctx: AuthContext,
  session: VaultSession,
): Promise<void> | undefined {
  const { absoluteDuration } = ctx.config
  if (absoluteDuration === false) return undefined
  const user = ctx.vault.readUser(session, identityOf(ctx))
  if (user === undefined || nowSeconds() - user.loggedInAt <= absoluteDuration) return undefined
  return ctx.vault.endSession(session, 'regenerate')
}
