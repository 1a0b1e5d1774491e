import { AuthError, type RequestAuth } from '@codegrant/session'
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The login state of the request's session, set by the `fastifyAuth` plugin of
     * `@codegrant/fastify` in its `onRequest` hook, on every request of the app. It is still
     * `null` where that hook has not run: in `onRequest` hooks registered before the plugin, and
     * in the error handler of a request whose session @fastify/session could not load.
     */
    auth: RequestAuth
  }
}

/**
 * `request.auth`, checked: for handlers that may run without the plugin (or before its hook).
 *
 * @throws AuthError `ERR_SESSION_REQUIRED` when the request did not go through `fastifyAuth`.
 */
export function getAuth(request: FastifyRequest): RequestAuth {
  const value = request.auth as RequestAuth | null | undefined
  if (value == null || typeof value.getAccessToken !== 'function') {
    throw new AuthError(
      'ERR_SESSION_REQUIRED',
      'the fastifyAuth plugin must be registered before this route',
    )
  }
  return value
}
