import type { IdTokenClaims } from '@codegrant/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { contextOf } from './context.js'
import { AuthError } from './errors.js'
import type { AuthRequest } from './get-auth.js'
import { startLogin } from './login.js'
import { safeReturnTo } from './return-to.js'
import { nowSeconds } from './session-record.js'

/** Options of {@link requiresAuth}. */
export interface RequiresAuthOptions {
  /**
   * Step-up: the session's `acr` must be one of these; otherwise the user is sent to log in
   * again with `acr_values`.
   */
  acrValues?: string | readonly string[]
  /**
   * Step-up: the user must have authenticated at most this many seconds ago (`auth_time`);
   * otherwise the user is sent to log in again with `max_age`.
   */
  maxAge?: number
}

/** A predicate over the logged-in user's claims for {@link claimCheck}. */
export type ClaimPredicate = (claims: IdTokenClaims, req: Request) => boolean

function wantsJson(req: Request): boolean {
  if (req.xhr) return true
  if (req.method !== 'GET' && req.method !== 'HEAD') return true
  return req.accepts(['html', 'json']) === 'json'
}

function misuse(): AuthError {
  return new AuthError(
    'ERR_SESSION_REQUIRED',
    'auth() must be mounted before requiresAuth() and claim checks',
  )
}

function unauthenticated(req: Request, res: Response, next: NextFunction): void {
  const context = contextOf(req)
  if (context === undefined) return next(misuse())
  if (wantsJson(req)) {
    res
      .status(401)
      .set('Cache-Control', 'no-store')
      .json({ error: 'unauthorized', error_description: 'Authentication required' })
    return
  }
  const returnTo = safeReturnTo(req.originalUrl) ?? context.ctx.config.defaultReturnTo
  res.redirect(
    302,
    `${context.base}${context.ctx.config.routes.login}?returnTo=${encodeURIComponent(returnTo)}`,
  )
}

function forbidden(req: Request, res: Response, next: NextFunction): void {
  if (wantsJson(req)) {
    res
      .status(403)
      .set('Cache-Control', 'no-store')
      .json({ error: 'forbidden', error_description: 'Insufficient claims' })
    return
  }
  next(new AuthError('ERR_FORBIDDEN', 'You are logged in but not allowed to see this page'))
}

/** A guard: runs `check` for a logged-in user (401 / login redirect otherwise). */
function guard(check?: ClaimPredicate): RequestHandler {
  return (req, res, next) => {
    const auth = (req as Partial<AuthRequest>).auth
    if (auth === undefined) return next(misuse())
    const user = auth.user
    if (user === undefined) return unauthenticated(req, res, next)
    if (check !== undefined) {
      let ok: boolean
      try {
        ok = check(user, req) === true
      } catch (err) {
        return next(err)
      }
      if (!ok) return forbidden(req, res, next)
    }
    next()
  }
}

/**
 * Lets only logged-in users through. A page request (a browser asking for HTML) without a login
 * is redirected to the login route with `returnTo`; a request that wants JSON (or is XHR, or is
 * not GET/HEAD) gets `401` JSON. With `acrValues` / `maxAge`, a logged-in user whose session falls
 * short is sent to re-authenticate (JSON requests: `401` with `insufficient_user_authentication`).
 *
 * @throws TypeError for an invalid option, naming it.
 * @see https://www.rfc-editor.org/rfc/rfc9470 (step-up authentication)
 */
export function requiresAuth(options: RequiresAuthOptions = {}): RequestHandler {
  if (options === null || typeof options !== 'object')
    throw new TypeError('"options" must be an object')
  const acr =
    typeof options.acrValues === 'string'
      ? options.acrValues.split(' ').filter(Boolean)
      : options.acrValues
  if (
    acr !== undefined &&
    (!Array.isArray(acr) ||
      acr.length === 0 ||
      !acr.every((a) => typeof a === 'string' && a.length > 0))
  ) {
    throw new TypeError('"acrValues" must be a non-empty string or array of strings')
  }
  const maxAge = options.maxAge
  if (
    maxAge !== undefined &&
    (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)
  ) {
    throw new TypeError('"maxAge" must be a non-negative integer (seconds)')
  }
  const base = guard()
  if (acr === undefined && maxAge === undefined) return base
  const acrValues = acr?.join(' ')

  const satisfied = (claims: IdTokenClaims): boolean => {
    if (acr !== undefined && (typeof claims.acr !== 'string' || !acr.includes(claims.acr)))
      return false
    if (maxAge !== undefined) {
      if (typeof claims.auth_time !== 'number' || nowSeconds() - claims.auth_time > maxAge)
        return false
    }
    return true
  }

  return (req, res, next) => {
    base(req, res, (err?: unknown) => {
      if (err !== undefined) return next(err)
      const user = (req as Partial<AuthRequest>).auth?.user
      const context = contextOf(req)
      if (user === undefined || context === undefined) return next(misuse())
      if (satisfied(user)) return next()
      if (wantsJson(req)) {
        res.status(401).set('Cache-Control', 'no-store').json({
          error: 'insufficient_user_authentication',
          error_description: 'A stronger or more recent authentication is required',
        })
        return
      }
      const returnTo = safeReturnTo(req.originalUrl) ?? context.ctx.config.defaultReturnTo
      startLogin(req, res, context.ctx, {
        returnTo,
        ...(acrValues !== undefined ? { acrValues } : {}),
        ...(maxAge !== undefined ? { maxAge } : {}),
      }).catch(next)
    })
  }
}

/** Requires the claim `name` to equal `value` (403 otherwise). */
export function claimEquals(name: string, value: string | number | boolean | null): RequestHandler {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('"name" must be a non-empty string')
  return guard((claims) => claims[name] === value)
}

/**
 * Requires the claim `name` (an array, or a space-separated string like `scope`) to include every
 * one of `values` (403 otherwise).
 */
export function claimIncludes(
  name: string,
  ...values: Array<string | number | boolean>
): RequestHandler {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('"name" must be a non-empty string')
  if (values.length === 0) throw new TypeError('"values" must not be empty')
  return guard((claims) => {
    const claim = claims[name]
    const list: unknown[] = Array.isArray(claim)
      ? claim
      : typeof claim === 'string'
        ? claim.split(' ')
        : []
    return values.every((v) => list.includes(v))
  })
}

/** Requires `predicate(claims, req)` to return `true` (403 otherwise). */
export function claimCheck(predicate: ClaimPredicate): RequestHandler {
  if (typeof predicate !== 'function') throw new TypeError('"predicate" must be a function')
  return guard(predicate)
}
