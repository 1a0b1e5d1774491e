import type { IdTokenClaims, TokenSet } from '@codegrant/core'
import { AuthError } from './errors.js'
import { ID_TOKEN_ONLY } from './user-info.js'

/** What {@link AfterCallback} is given: the login, validated, before any session is written. */
export interface AfterCallbackInput {
  /** The validated ID token's claims (`iss`, `sub`, `aud`, `acr`, `amr`, ...). */
  readonly claims: Readonly<IdTokenClaims>
  /** The token set of the login (access, refresh and ID token). Keep tokens out of what you return. */
  readonly tokens: Readonly<TokenSet>
  /** The UserInfo response, when `fetchUserInfoAtLogin` fetched it for this login. */
  readonly userInfo: Readonly<Record<string, unknown>> | undefined
}

/**
 * A hook at login, after the callback was validated and before the user is logged in. It may
 * return claims to keep with the user (roles from the app's database, ...): they are added to
 * `req.auth.user` and `req.auth.idTokenClaims` (overriding a claim of the same name) and kept
 * across refreshes. They may not set a protocol claim (`iss`, `sub`, `aud`, `acr`, `amr`,
 * `auth_time`, `sid`, ...). Return nothing to keep the claims as they are.
 *
 * Throw to refuse the login: no session is established and the error handler gets an `AuthError`
 * `ERR_LOGIN_REFUSED` (403) whose message says only that the application refused the login (the
 * thrown error is its `cause`); an `AuthError` thrown by the hook is passed on as it is.
 */
export type AfterCallback = (
  input: AfterCallbackInput,
) =>
  Promise<Record<string, unknown> | undefined | void> | Record<string, unknown> | undefined | void

/** The most JSON the claims of `afterCallback` may take: they are stored in the session. */
export const MAX_APP_CLAIMS_BYTES = 16 * 1024

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null &&
  typeof v === 'object' &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)

/** A misuse of the hook found at login: a 500 naming it (the login fails closed). */
function misuse(message: string, cause?: unknown): AuthError {
  return new AuthError('ERR_CONFIG_INVALID', `auth(): "afterCallback" ${message}`, { cause })
}

/**
 * Runs the hook and checks what it returns: `undefined` (nothing to add), or a plain object of
 * JSON values without protocol claims, at most {@link MAX_APP_CLAIMS_BYTES} as JSON. Returns the
 * claims as they will read after a session store round trip (a JSON copy).
 *
 * @throws AuthError `ERR_LOGIN_REFUSED` when the hook throws (or the hook's own `AuthError`),
 *   `ERR_CONFIG_INVALID` when it returns something that cannot be kept.
 */
export async function runAfterCallback(
  hook: AfterCallback,
  input: AfterCallbackInput,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  let returned: unknown
  try {
    returned = await hook(input)
  } catch (err) {
    if (err instanceof AuthError) throw err
    throw new AuthError('ERR_LOGIN_REFUSED', 'Login refused by the application', { cause: err })
  }
  if (returned === undefined) return undefined
  if (!isPlainObject(returned)) {
    throw misuse('must return a plain object of claims, or nothing')
  }
  const protocol = Object.keys(returned).find((name) => ID_TOKEN_ONLY.has(name))
  if (protocol !== undefined) {
    throw misuse(
      `may not set the protocol claim ${JSON.stringify(protocol.slice(0, 40))}: only the ID token does`,
    )
  }
  let json: string
  try {
    json = JSON.stringify(returned)
  } catch (err) {
    throw misuse('must return JSON values (they are stored in the session)', err)
  }
  if (Buffer.byteLength(json) > MAX_APP_CLAIMS_BYTES) {
    throw misuse(
      `returned more than ${MAX_APP_CLAIMS_BYTES} bytes of claims: keep large data in the app's ` +
        'own store, keyed by the user\'s "sub"',
    )
  }
  return JSON.parse(json) as Record<string, unknown>
}

/**
 * `claims` with the app's claims of `afterCallback` set over them (defined, not assigned: a
 * `__proto__` member stays a plain claim). They never hold a protocol claim.
 */
export function withAppClaims(
  claims: IdTokenClaims,
  appClaims: Readonly<Record<string, unknown>> | undefined,
): IdTokenClaims {
  if (appClaims === undefined) return claims
  const out: IdTokenClaims = { ...claims }
  for (const [name, value] of Object.entries(appClaims)) {
    if (ID_TOKEN_ONLY.has(name)) continue
    Object.defineProperty(out, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}
