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
import type { FastifyReply, FastifyRequest } from 'fastify'
import { redirectToLogin } from './handlers.js'
import { prefersJson } from './negotiate.js'
import { contextOf } from './request-context.js'

export type { RequiresAuthOptions }

/** A predicate over the logged-in user's claims for {@link claimCheck}. */
export type ClaimPredicate = (claims: IdTokenClaims, request: FastifyRequest) => boolean

/**
 * A route hook of this package's guards: use it as the route's `onRequest` (or `preHandler`)
 * hook. It lets the request through (resolves without replying), or replies (401 JSON, a redirect
 * to the login route, 403 JSON), or throws an `AuthError` for the app's error handler.
 */
export type AuthGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

const PLAIN: AccessRule = accessRule()

/** Runs the guard decision of @codegrant/session for the request and answers it. */
async function enforce(
  rule: AccessRule,
  request: FastifyRequest,
  reply: FastifyReply,
  check?: ClaimTest,
): Promise<unknown> {
  const ctx = contextOf(request)
  // Without the plugin's context, fastifyAuth did not run: the decision is the misuse error.
  const router = ctx === undefined ? undefined : { ctx, mountPath: '' }
  const decision = decideAccess(rule, {
    user: ctx === undefined ? undefined : request.auth.idTokenClaims,
    router,
    method: request.method,
    url: request.url,
    // Content negotiation only when the decision needs it (not for a request let through).
    get prefersJson() {
      return prefersJson(request)
    },
    ...(check !== undefined ? { check } : {}),
  })
  return answerDecision(decision, request, reply, router?.ctx)
}

/**
 * Answers a decision of @codegrant/session (a guard's, or the plugin's gate): `allow` / `next`
 * resolve without replying, `fail` rejects with its `AuthError`, the others reply. `ctx` is the
 * plugin instance that starts a `step-up` / `login`.
 */
export async function answerDecision(
  decision: AccessDecision | GateDecision,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: AuthContext | undefined,
): Promise<unknown> {
  switch (decision.action) {
    case 'allow':
    case 'next':
      return undefined
    case 'fail':
      throw decision.error
    case 'redirect':
      return reply.redirect(decision.redirectTo, 302)
    case 'reply':
      return reply.code(decision.status).headers(decision.headers).send(decision.body)
    case 'step-up':
    case 'login':
      // Made only for a request that went through the plugin (step-up, or the login route off).
      if (ctx === undefined) {
        throw new AuthError(
          'ERR_SESSION_REQUIRED',
          'fastifyAuth must be registered before this hook',
        )
      }
      return redirectToLogin(request, reply, ctx, decision.login)
  }
}

/** A guard: lets a logged-in user who passes `check` through (401 / login redirect / 403 otherwise). */
function guard(rule: AccessRule, check?: ClaimPredicate): AuthGuard {
  return (request, reply) =>
    enforce(
      rule,
      request,
      reply,
      check === undefined ? undefined : (claims) => check(claims, request),
    )
}

/**
 * Lets only logged-in users through: `app.get('/profile', { onRequest: requiresAuth() }, handler)`.
 * A page request (a browser asking for HTML) without a login is redirected to the login route
 * with `returnTo`; a request that wants JSON (or is XHR, or is not GET/HEAD) gets `401` JSON.
 * With `acrValues` / `maxAge`, a logged-in user whose session falls short is sent to
 * re-authenticate (JSON requests: `401` with `insufficient_user_authentication`).
 *
 * @throws TypeError for an invalid option, naming it.
 * @see https://www.rfc-editor.org/rfc/rfc9470 (step-up authentication)
 */
export function requiresAuth(options: RequiresAuthOptions = {}): AuthGuard {
  return guard(accessRule(options))
}

/** Requires the claim `name` to equal `value` (403 otherwise). */
export function claimEquals(name: string, value: string | number | boolean | null): AuthGuard {
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
): AuthGuard {
  const test = claimIncludesTest(name, ...values)
  return guard(PLAIN, (claims) => test(claims))
}

/** Requires `predicate(claims, request)` to return `true` (403 otherwise). */
export function claimCheck(predicate: ClaimPredicate): AuthGuard {
  if (typeof predicate !== 'function') throw new TypeError('"predicate" must be a function')
  return guard(PLAIN, predicate)
}
