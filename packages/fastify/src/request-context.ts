import type { AuthContext } from '@codegrant/session'
import type { FastifyRequest } from 'fastify'

// The plugin instance whose `request.auth` a request carries.
const attached = new WeakMap<FastifyRequest, AuthContext>()

/** Records which plugin instance set the request's `request.auth` (for the guards). */
export function attachContext(request: FastifyRequest, ctx: AuthContext): void {
  attached.set(request, ctx)
}

/** The context of the plugin instance that set the request's `request.auth`, if any. */
export function contextOf(request: FastifyRequest): AuthContext | undefined {
  return attached.get(request)
}
