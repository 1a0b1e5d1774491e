import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthInfo } from '../auth-info.js'
import { createAccessCheck, createGuard, type RequireTokenOptions } from '../guard.js'
import type { Requirements } from '../options.js'
import { refuse } from './reply.js'
import { FastifyVerifyRequest } from './request.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token, set by `requireToken()` from `@codegrant/resource-server/fastify`. */
    accessToken?: AuthInfo
  }
}

/**
 * An async Fastify hook of this package, for `onRequest` or `preHandler` (route option or
 * `addHook`). It resolves to the reply when it answered the request (Fastify then runs nothing
 * after it), to undefined otherwise.
 */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/**
 * A Fastify hook that accepts only requests with a valid access token: it verifies the token
 * (see `createVerifier()`), sets the typed `request.accessToken`, and otherwise answers the
 * RFC 6750 refusal itself (status, `WWW-Authenticate` with `resource_metadata` when configured,
 * `DPoP-Nonce`, `Cache-Control: no-store`, JSON `{ error, error_description }`); the route
 * handler does not run then. Statuses are those of the Express adapter (`ERROR_TABLE`).
 *
 * Use it as `onRequest` (before the body is parsed), or as `preHandler` when `allowBodyToken` is
 * on (a form-body token is read from the parsed body). DPoP `htu` is built from
 * `request.protocol`, `request.host` and `request.originalUrl`: behind a proxy, set Fastify's
 * `trustProxy`.
 *
 * @example app.get('/api/messages', { onRequest: requireToken({ verifier, scopes: ['read:messages'] }) }, handler)
 * @throws {TypeError} for a bad option (at creation).
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function requireToken(options: RequireTokenOptions): AuthHook {
  const guard = createGuard(options)
  return async function requireAuthHook(request: FastifyRequest, reply: FastifyReply) {
    const view = new FastifyVerifyRequest(request)
    try {
      // A token verified before is answered without the verifier's promise chain.
      request.accessToken = guard.fastPath(view) ?? (await guard.verify(view))
    } catch (err) {
      return refuse(reply, err)
    }
    return undefined
  }
}

function accessHook(requirements: Requirements, name: string): AuthHook {
  // The verifier is known only once a verified token arrives: its scopes are registered then.
  // `requireToken({ verifier, scopes })` registers them up front.
  const check = createAccessCheck(requirements, name)
  return async function requireAccessHook(request: FastifyRequest, reply: FastifyReply) {
    try {
      check(request.accessToken)
    } catch (err) {
      return refuse(reply, err)
    }
    return undefined
  }
}

/**
 * A Fastify hook, after `requireToken()`, that needs every one of `scopes`: otherwise 403
 * `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
 * scope="..."`. Without a verified token (no `requireToken()` before it) it answers 401.
 *
 * @example app.get('/api/messages', { onRequest: [requireToken({ verifier }), requireScopes('read:messages')] }, handler)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 */
export function requireScopes(...scopes: string[]): AuthHook {
  return accessHook({ scopes }, 'requireScopes()')
}

/**
 * A Fastify hook, after `requireToken()`, that enforces {@link Requirements}: scopes (all or any),
 * claim checks (403) and RFC 9470 step-up (`acrValues`, `maxAuthAge`: 401
 * `insufficient_user_authentication`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3
 */
export function requireAccess(requirements: Requirements): AuthHook {
  return accessHook(requirements, 'requireAccess()')
}
