import { handleCallback, isCodegrantError, type Client, type CodegrantError } from '@codegrant/core'
import { randomBytes } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import { asUnavailable } from './as-error.js'
import { clientOf, type AuthContext } from './context.js'
import { AuthError } from './errors.js'
import { sessionOf } from './express-session.js'
import { nowSeconds } from './session-record.js'
import { indexKey } from './session-index.js'
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
      const code =
        typeof err.error === 'string' && /^[\w.-]{1,64}$/.test(err.error) ? err.error : 'error'
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

/** Marks the second, same-site submission of a form_post response. */
const RESUBMIT = 'codegrant_resubmit'

function resubmit(req: Request, res: Response): void {
  const nonce = randomBytes(16).toString('base64')
  const fields = Object.entries((req.body ?? {}) as Record<string, unknown>)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(
      ([name, value]) =>
        `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
    )
    .join('')
  res
    .status(200)
    .set({
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    })
    .type('html')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Signing in…</title></head><body>` +
        `<form method="post" action="${escapeHtml(req.originalUrl)}">${fields}` +
        `<input type="hidden" name="${RESUBMIT}" value="1"><noscript><button type="submit">Continue</button></noscript></form>` +
        `<script nonce="${nonce}">document.forms[0].submit()</script></body></html>`,
    )
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

function callbackInput(client: Client, req: Request): URL | { body: Record<string, unknown> } {
  if (req.method === 'POST') {
    // Core refuses a parameter given twice or not a string.
    const body = { ...((req.body ?? {}) as Record<string, unknown>) }
    delete body[RESUBMIT]
    return { body }
  }
  // The registered redirect_uri plus the query as received: right behind proxies too.
  const url = new URL(client.redirectUri)
  const q = req.originalUrl.indexOf('?')
  url.search = q === -1 ? '' : req.originalUrl.slice(q)
  return url
}

function stateOf(req: Request): string | undefined {
  const source = (req.method === 'POST' ? req.body : req.query) as
    Record<string, unknown> | undefined
  const state = source?.state
  return typeof state === 'string' && state.length > 0 ? state : undefined
}

/** The values of the request's cookies (percent-decoded). */
function cookieValues(req: Request): string[] {
  const header = req.get('cookie')
  if (header === undefined) return []
  return header.split(';').map((pair) => {
    const value = pair.slice(pair.indexOf('=') + 1).trim()
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  })
}

const COOKIE_CAUSES =
  'Likely causes: the cookie is Secure (cookie.secure: true) but the app is served over http ' +
  "(set secure only on https, e.g. cookie.secure: 'auto' with app.set('trust proxy', 1) behind " +
  "a TLS proxy); the login started on another host name than the redirect URI's (localhost vs " +
  '127.0.0.1: use the same one); or the cookie is SameSite=Strict, or SameSite=None without ' +
  "Secure (use sameSite: 'lax')"

/**
 * Why no login in progress matches the callback's `state`. express-session signs its cookie as
 * `s:<session id>.<signature>`: when no cookie holds the id of the request's session, the session
 * was just created, i.e. the one the login was started in did not come back.
 */
function unknownLogin(req: Request): AuthError {
  const values = cookieValues(req)
  if (values.some((v) => v.startsWith(`s:${req.sessionID}.`))) {
    return new AuthError(
      'ERR_STATE_UNKNOWN',
      'Login failed: no login in progress matches this response (already completed, expired, or started in another browser)',
    )
  }
  if (!values.some((v) => v.startsWith('s:'))) {
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

async function complete(req: Request, res: Response, ctx: AuthContext): Promise<void> {
  const { config } = ctx
  res.set('Cache-Control', 'no-store')
  const state = stateOf(req)
  if (state === undefined)
    throw new AuthError('ERR_STATE_MISSING', 'Login failed: the response has no state')
  const { vault } = ctx
  const session = sessionOf(req)
  const entry = vault.takeLogin(session, state)
  if (entry === undefined) {
    if (
      req.method === 'POST' &&
      req.get('sec-fetch-site') === 'cross-site' &&
      (req.body as Record<string, unknown>)?.[RESUBMIT] === undefined
    ) {
      // form_post arrives as a cross-site POST, which does not carry a SameSite=Lax session
      // cookie. Post the same form again from our own origin: that request carries it.
      resubmit(req, res)
      return
    }
    throw unknownLogin(req)
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
    result = await handleCallback(client, callbackInput(client, req), entry.transaction)
  } catch (err) {
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
  if (config.fetchUserInfoAtLogin) {
    try {
      userClaims = await completeClaims(
        client,
        result.tokens,
        claims,
        result.tokens.scope ?? entry.transaction.scope,
      )
    } catch (err) {
      return fail(userInfoLoginError(err))
    }
  }

  // Session fixation defence: the logged-in session gets a new id. Other logins in progress
  // (other tabs) move along with it.
  await vault.logIn(session, vault.newUser(client, result.tokens, userClaims))

  const keys = [indexKey('sub', claims.iss, claims.sub)]
  if (typeof claims.sid === 'string') keys.push(indexKey('sid', claims.iss, claims.sid))
  const ttl =
    config.absoluteDuration !== false
      ? config.absoluteDuration
      : Math.ceil((req.session.cookie.maxAge ?? 86_400_000) / 1000)
  try {
    await config.sessionIndex.add(keys, req.sessionID, ttl)
  } catch (err) {
    await vault.endSession(session, 'regenerate').catch(() => undefined)
    throw err instanceof AuthError
      ? err
      : new AuthError('ERR_STORE_UNAVAILABLE', 'The session index is unavailable', { cause: err })
  }
  await vault.save(session)
  res.redirect(302, entry.returnTo)
}

/** `GET|POST /callback`: completes the login or passes a typed {@link AuthError} to `next`. */
export function callbackHandler(ctx: AuthContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    complete(req, res, ctx).catch(next)
  }
}
