import { handleCallback, isCodegrantError, type Client, type CodegrantError } from '@codegrant/core'
import { isSafeErrorCode } from '@codegrant/internal'
import { randomBytes } from 'node:crypto'
import { runAfterCallback } from './after-callback.js'
import { asUnavailable } from './as-error.js'
import { clientOf, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { NO_STORE, type Redirect, type ResponseHeaders } from './outcome.js'
import { nowSeconds } from './session-record.js'
import { indexKey } from './session-index.js'
import type { VaultSession } from './session-vault.js'
import { completeClaims } from './user-info.js'

const MESSAGES: Partial<Record<CodegrantError['code'], string>> = {
  ERR_AUTHORIZATION_ERROR: 'the authorization server returned an error',
  ERR_STATE_MISMATCH: 'the state does not match the login in progress',
  ERR_ISS_MISMATCH: 'the response comes from an unexpected issuer',
  ERR_CALLBACK_INVALID: 'the response is malformed',
  ERR_TOKEN_ERROR: 'the authorization server refused the code',
  ERR_INVALID_GRANT: 'the authorization server refused the code',
  ERR_ID_TOKEN_MISSING: 'the response carries no ID token',
  ERR_ID_TOKEN_INVALID: 'the ID token is invalid',
  ERR_TOKEN_TYPE_UNSUPPORTED: 'the token type is not supported',
  ERR_RESPONSE_INVALID: 'the authorization server answered unexpectedly',
}

/** Turns a core failure at the callback into the typed error the app's handler gets. */
export function loginError(err: unknown): AuthError {
  if (err instanceof AuthError) return err
  if (!isCodegrantError(err)) {
    return new AuthError('ERR_LOGIN_FAILED', 'Login failed', { cause: err })
  }
  switch (err.code) {
    case 'ERR_NETWORK':
    case 'ERR_TIMEOUT':
    case 'ERR_DISCOVERY_FAILED':
      return new AuthError(
        'ERR_AS_UNAVAILABLE',
        'Login failed: the authorization server could not be reached',
        {
          cause: err,
        },
      )
    case 'ERR_CLIENT_AUTH_REFUSED':
      // Core's message names what to check (credentials, method, assertion audience) and never
      // carries a secret.
      return new AuthError('ERR_CLIENT_AUTH_REFUSED', `Login failed: ${err.message}`, {
        cause: err,
      })
    case 'ERR_TRANSACTION_EXPIRED':
      return new AuthError(
        'ERR_TRANSACTION_EXPIRED',
        'Login failed: the login took too long, please try again',
        {
          cause: err,
        },
      )
    case 'ERR_AUTHORIZATION_ERROR': {
      const code = isSafeErrorCode(err.error) ? err.error : 'error'
      return new AuthError(
        code === 'access_denied' ? 'ERR_ACCESS_DENIED' : 'ERR_LOGIN_FAILED',
        `Login failed: the authorization server returned "${code}"`,
        { cause: err },
      )
    }
    default:
      return new AuthError(
        'ERR_LOGIN_FAILED',
        `Login failed: ${MESSAGES[err.code] ?? 'the response is invalid'}`,
        {
          cause: err,
        },
      )
  }
}

/** A failed UserInfo request at login (`fetchUserInfoAtLogin`). */
function userInfoLoginError(err: unknown): AuthError {
  if (isCodegrantError(err, 'ERR_USERINFO_SUB_MISMATCH')) {
    return new AuthError('ERR_LOGIN_FAILED', 'Login failed: UserInfo answered for another user', {
      cause: err,
    })
  }
  if (isCodegrantError(err, 'ERR_TOKEN_ERROR')) {
    return new AuthError(
      'ERR_LOGIN_FAILED',
      'Login failed: the UserInfo endpoint refused the access token',
      { cause: err },
    )
  }
  return loginError(err)
}

/**
 * The AS errors that answer a `prompt=none` request when the user would have to interact.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthError
 */
const INTERACTION_NEEDED: ReadonlySet<string> = new Set([
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
])

/** Whether a callback failure is the AS saying a silent login needs the user. */
function needsInteraction(err: unknown): boolean {
  return (
    isCodegrantError(err, 'ERR_AUTHORIZATION_ERROR') &&
    typeof err.error === 'string' &&
    INTERACTION_NEEDED.has(err.error)
  )
}

/** Marks the second, same-site submission of a form_post response. */
const RESUBMIT = 'codegrant_resubmit'

/** The same-origin page that posts a cross-site form_post response again (see {@link completeLogin}). */
export interface ResubmitPage {
  readonly status: 200
  readonly headers: ResponseHeaders
  /** A complete HTML document (`Content-Type: text/html; charset=utf-8`). */
  readonly html: string
}

function resubmit(url: string, body: Readonly<Record<string, unknown>>): ResubmitPage {
  const nonce = randomBytes(16).toString('base64')
  const fields = Object.entries(body)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(
      ([name, value]) =>
        `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
    )
    .join('')
  return {
    status: 200,
    headers: Object.freeze({
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    }),
    html:
      `<!doctype html><html><head><meta charset="utf-8"><title>Signing in…</title></head><body>` +
      `<form method="post" action="${escapeHtml(url)}">${fields}` +
      `<input type="hidden" name="${RESUBMIT}" value="1"><noscript><button type="submit">Continue</button></noscript></form>` +
      `<script nonce="${nonce}">document.forms[0].submit()</script></body></html>`,
  }
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/** The callback request, as plain values. */
export interface CallbackInput {
  /** The request method: `GET` (query response mode) or `POST` (`form_post`). */
  readonly method: string
  /** The request URL as received: path and query (`req.originalUrl`, `request.url`). */
  readonly url: string
  /**
   * The response parameters: the parsed query for `GET`, the parsed
   * `application/x-www-form-urlencoded` body for `POST` (`undefined` when there is none).
   */
  readonly params: Readonly<Record<string, unknown>> | undefined
  /** The request's `Sec-Fetch-Site` header, if any. */
  readonly fetchSite: string | undefined
  /**
   * What the request's cookies say about its session: `current` when one carries the id of the
   * request's session, `other` when one is a session cookie of this middleware with another id
   * (a session the store no longer has), `none` when no session cookie came back. Used only to
   * explain a callback that matches no login in progress.
   */
  readonly sessionCookie: 'current' | 'other' | 'none'
  /**
   * The session cookie's max age in milliseconds, if it has one (`req.session.cookie.maxAge`):
   * the back-channel logout index TTL when `absoluteDuration` is `false`. Called once the
   * logged-in session got its new id, so it reads the new session's cookie.
   */
  sessionMaxAge(): number | undefined
}

/** What {@link completeLogin} answers: a redirect, or the same-origin form_post resubmit page. */
export type CallbackOutcome =
  ({ readonly kind: 'redirect' } & Redirect) | ({ readonly kind: 'page' } & ResubmitPage)

function callbackInput(
  client: Client,
  input: CallbackInput,
): URL | { body: Record<string, unknown> } {
  if (input.method === 'POST') {
    // Core refuses a parameter given twice or not a string.
    const body = { ...(input.params ?? {}) }
    delete body[RESUBMIT]
    return { body }
  }
  // The registered redirect_uri plus the query as received: right behind proxies too.
  const url = new URL(client.redirectUri)
  const q = input.url.indexOf('?')
  url.search = q === -1 ? '' : input.url.slice(q)
  return url
}

function stateOf(input: CallbackInput): string | undefined {
  const state = input.params?.state
  return typeof state === 'string' && state.length > 0 ? state : undefined
}

const COOKIE_CAUSES =
  'Likely causes: the cookie is Secure (cookie.secure: true) but the app is served over http ' +
  "(set secure only on https, e.g. cookie.secure: 'auto' with app.set('trust proxy', 1) behind " +
  "a TLS proxy); the login started on another host name than the redirect URI's (localhost vs " +
  '127.0.0.1: use the same one); or the cookie is SameSite=Strict, or SameSite=None without ' +
  "Secure (use sameSite: 'lax')"

/** Why no login in progress matches the callback's `state`, from what its cookies say. */
function unknownLogin(sessionCookie: CallbackInput['sessionCookie']): AuthError {
  if (sessionCookie === 'current') {
    return new AuthError(
      'ERR_STATE_UNKNOWN',
      'Login failed: no login in progress matches this response (already completed, expired, or started in another browser)',
    )
  }
  if (sessionCookie === 'none') {
    return new AuthError(
      'ERR_SESSION_COOKIE_MISSING',
      `Login failed: the session cookie did not come back with this response, so the login in progress cannot be found. ${COOKIE_CAUSES}.`,
    )
  }
  return new AuthError(
    'ERR_STATE_UNKNOWN',
    'Login failed: the session of this login was not found (it expired, the session store was ' +
      "emptied, or the cookie is another app's on this host: give each app its own cookie name)",
  )
}

/**
 * Indexes a logged-in stored session by its `sub` and `sid` for back-channel logout, for as long
 * as the session can live. On failure the session ends (nothing half-logged-in stays) and the
 * error is `ERR_STORE_UNAVAILABLE`.
 */
async function indexSession(
  ctx: AuthContext,
  session: VaultSession,
  claims: { readonly iss: string; readonly sub: string; readonly sid?: unknown },
  input: CallbackInput,
): Promise<void> {
  const { config, vault } = ctx
  const keys = [indexKey('sub', claims.iss, claims.sub)]
  if (typeof claims.sid === 'string') keys.push(indexKey('sid', claims.iss, claims.sid))
  const ttl =
    config.absoluteDuration !== false
      ? config.absoluteDuration
      : Math.ceil((input.sessionMaxAge() ?? 86_400_000) / 1000)
  try {
    await config.sessionIndex.add(keys, session.id, ttl)
  } catch (err) {
    await vault.endSession(session, 'regenerate').catch(() => undefined)
    throw err instanceof AuthError
      ? err
      : new AuthError('ERR_STORE_UNAVAILABLE', 'The session index is unavailable', { cause: err })
  }
}

/**
 * `GET|POST /callback`: completes the login of the session's login in progress for the
 * response's `state` (consumed exactly once): checks it was sent by this middleware's issuer and
 * client (mix-up defence), exchanges the code (core checks state, `iss`, PKCE, the ID token),
 * checks a step-up's `acr`, optionally completes the claims from UserInfo, runs `afterCallback`
 * (which may add claims or refuse the login), logs the user in under
 * a new session id (other logins in progress move along), indexes the session for back-channel
 * logout, saves it, and answers a redirect to the login's `returnTo`.
 *
 * A `form_post` response arrives as a cross-site POST without the SameSite=Lax session cookie:
 * then the outcome is a page that posts the same form again from this origin.
 *
 * Answer its errors with `Cache-Control: no-store` too.
 *
 * @throws AuthError with its `status`: `ERR_STATE_MISSING`, `ERR_STATE_UNKNOWN`,
 *   `ERR_SESSION_COOKIE_MISSING`, `ERR_TRANSACTION_EXPIRED`, `ERR_ACCESS_DENIED`,
 *   `ERR_LOGIN_FAILED`, `ERR_STEP_UP_FAILED`, `ERR_LOGIN_REFUSED` (`afterCallback` threw),
 *   `ERR_CLIENT_AUTH_REFUSED`, `ERR_AS_UNAVAILABLE`,
 *   `ERR_CONFIG_INVALID`, `ERR_STORE_UNAVAILABLE`. No session is established then.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthResponseValidation
 */
export async function completeLogin(
  ctx: AuthContext,
  session: VaultSession,
  input: CallbackInput,
): Promise<CallbackOutcome> {
  const { config } = ctx
  const state = stateOf(input)
  if (state === undefined)
    throw new AuthError('ERR_STATE_MISSING', 'Login failed: the response has no state')
  const { vault } = ctx
  const entry = vault.takeLogin(session, state)
  if (entry === undefined) {
    if (
      input.method === 'POST' &&
      input.fetchSite === 'cross-site' &&
      input.params?.[RESUBMIT] === undefined
    ) {
      // form_post arrives as a cross-site POST, which does not carry a SameSite=Lax session
      // cookie. Post the same form again from our own origin: that request carries it.
      return { kind: 'page', ...resubmit(input.url, input.params ?? {}) }
    }
    throw unknownLogin(input.sessionCookie)
  }

  const fail = async (err: AuthError): Promise<never> => {
    await vault.save(session).catch(() => undefined)
    throw err
  }
  if (entry.transaction.expires_at <= nowSeconds()) {
    return fail(
      new AuthError(
        'ERR_TRANSACTION_EXPIRED',
        'Login failed: the login took too long, please try again',
      ),
    )
  }
  let client: Client
  try {
    client = await clientOf(ctx)
  } catch (err) {
    return fail(asUnavailable(err, 'Login'))
  }
  if (
    entry.issuer !== client.issuer ||
    entry.clientId !== client.clientId ||
    entry.transaction.redirect_uri !== client.redirectUri
  ) {
    // Started by another auth() router (another issuer or client): the response must go back
    // to the router that sent the request (RFC 9700 section 4.4.2, mix-up attacks).
    return fail(
      new AuthError(
        'ERR_LOGIN_FAILED',
        'Login failed: the response reached the callback of another authorization server',
      ),
    )
  }
  let result: Awaited<ReturnType<typeof handleCallback>>
  try {
    result = await handleCallback(client, callbackInput(client, input), entry.transaction)
  } catch (err) {
    if (entry.silent === true && needsInteraction(err)) {
      // The silent login found no usable AS session: back to the page, unauthenticated. The
      // session keeps its mark, so this is the only attempt.
      await vault.save(session)
      return { kind: 'redirect', redirectTo: entry.returnTo, headers: NO_STORE }
    }
    return fail(loginError(err))
  }
  const claims = result.claims
  if (claims === undefined) {
    return fail(
      new AuthError(
        'ERR_LOGIN_FAILED',
        'Login failed: no ID token (the scope must include "openid")',
      ),
    )
  }
  if (entry.acrValues !== undefined && !entry.acrValues.split(' ').includes(String(claims.acr))) {
    return fail(
      new AuthError(
        'ERR_STEP_UP_FAILED',
        'Login failed: the required authentication level was not reached',
      ),
    )
  }

  let userClaims = claims
  let userInfo: Readonly<Record<string, unknown>> | undefined
  if (config.fetchUserInfoAtLogin) {
    try {
      ;({ claims: userClaims, userInfo } = await completeClaims(
        client,
        result.tokens,
        claims,
        result.tokens.scope ?? entry.transaction.scope,
      ))
    } catch (err) {
      return fail(userInfoLoginError(err))
    }
  }
  let appClaims: Readonly<Record<string, unknown>> | undefined
  if (config.afterCallback !== undefined) {
    try {
      appClaims = await runAfterCallback(config.afterCallback, {
        claims,
        tokens: result.tokens,
        userInfo,
      })
    } catch (err) {
      return fail(err as AuthError)
    }
  }
  const user = vault.newUser(client, result.tokens, userClaims, undefined, appClaims)

  // Session fixation defence: the logged-in session gets a new id. Other logins in progress
  // (other tabs) move along with it.
  await vault.logIn(session, user)

  // Back-channel logout finds a stored session by its sid/sub; a cookie session is not indexed
  // (its logout is recorded by sid/sub and checked on each request instead).
  if (vault.endsById) await indexSession(ctx, session, claims, input)
  await vault.save(session)
  return { kind: 'redirect', redirectTo: entry.returnTo, headers: NO_STORE }
}
