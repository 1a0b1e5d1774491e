import type { IdTokenClaims } from '@codegrant/core'
import {
  AuthError,
  accessRule,
  claimEqualsTest,
  claimIncludesTest,
  decideAccess,
  type AccessDecision,
  type AccessRule,
  type AuthContext,
  type GateDecision,
  type ClaimTest,
  type RequiresAuthOptions,
} from '@codegrant/session'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { AuthRequest } from './get-auth.js'
import { redirectToLogin } from './handlers.js'
import { contextOf } from './request-context.js'

export type { RequiresAuthOptions }

/** A predicate over the logged-in user's claims for {@link claimCheck}. */
export type ClaimPredicate = (claims: IdTokenClaims, req: Request) => boolean

const PLAIN: AccessRule = accessRule()

/** Runs the guard decision of @codegrant/session for the request and answers it. */
function enforce(
  rule: AccessRule,
  req: Request,
  res: Response,
  next: NextFunction,
  check?: ClaimTest,
): void {
  const auth = (req as Partial<AuthRequest>).auth
  const attached = contextOf(req)
  // Without `req.auth`, auth() did not run: the decision is the misuse error.
  const router =
    auth === undefined || attached === undefined
      ? undefined
      : { ctx: attached.ctx, mountPath: attached.base }
  let decision: ReturnType<typeof decideAccess>
  try {
    decision = decideAccess(rule, {
      user: auth?.idTokenClaims,
      router,
      method: req.method,
      url: req.originalUrl,
      // Content negotiation only when the decision needs it (not for a request let through).
      get prefersJson() {
        return req.xhr || req.accepts(['html', 'json']) === 'json'
      },
      ...(check !== undefined ? { check } : {}),
    })
  } catch (err) {
    next(err)
    return
  }
  answerDecision(decision, req, res, next, router?.ctx)
}

/**
 * Answers a guard decision of @codegrant/session: `allow` calls `next()`, the others answer the
 * response (or pass the error to `next`). `ctx` is the router that starts a `step-up` / `login`.
 */
export function answerDecision(
  decision: AccessDecision | GateDecision,
  req: Request,
  res: Response,
  next: NextFunction,
  ctx: AuthContext | undefined,
): void {
  switch (decision.action) {
    case 'allow':
    case 'next':
      next()
      return
    case 'fail':
      next(decision.error)
      return
    case 'redirect':
      res.redirect(302, decision.redirectTo)
      return
    case 'reply':
      res.status(decision.status).set(decision.headers).json(decision.body)
      return
    case 'step-up':
    case 'login':
      // These decisions are made only for a request that went through auth().
      if (ctx !== undefined) redirectToLogin(req, res, ctx, decision.login).catch(next)
      else next(new AuthError('ERR_SESSION_REQUIRED', 'auth() must be mounted before this handler'))
      return
  }
}

/** A guard: lets a logged-in user who passes `check` through (401 / login redirect / 403 otherwise). */
function guard(rule: AccessRule, check?: ClaimPredicate): RequestHandler {
  return (req, res, next) =>
    enforce(rule, req, res, next, check === undefined ? undefined : (claims) => check(claims, req))
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
  return guard(accessRule(options))
}

/** Requires the claim `name` to equal `value` (403 otherwise). */
export function claimEquals(name: string, value: string | number | boolean | null): RequestHandler {
  const test = claimEqualsTest(name, value)
  return guard(PLAIN, (claims) => test(claims))
}

/**
 * Requires the claim `name` (an array, or a space-separated string like `scope`) to include every
 * one of `values` (403 otherwise).
 */
export function claimIncludes(
  name: string,
  ...values: Array<string | number | boolean>
): RequestHandler {
  const test = claimIncludesTest(name, ...values)
  return guard(PLAIN, (claims) => test(claims))
}

/** Requires `predicate(claims, req)` to return `true` (403 otherwise). */
export function claimCheck(predicate: ClaimPredicate): RequestHandler {
  if (typeof predicate !== 'function') throw new TypeError('"predicate" must be a function')
  return guard(PLAIN, predicate)
}
