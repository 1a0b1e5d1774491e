import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Requirements, VerifierOptions } from '../options.js'
import { createVerifier, type Verifier } from '../verifier.js'
import { requireToken, type AuthHook } from './hooks.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A `requireToken()` hook on the verifier of the `fastifyResourceServer` plugin, with what
     * this route needs (its scopes are registered in the verifier's protected resource metadata).
     *
     * @example app.get('/api/messages', { onRequest: app.requireToken({ scopes: ['read:messages'] }) }, handler)
     */
    requireToken(requirements?: Requirements): AuthHook
  }
}

/** Options of {@link fastifyResourceServer}: a verifier made by `createVerifier()`, or its options. */
export type FastifyResourceServerOptions = { verifier: Verifier } | VerifierOptions

const plugin: FastifyPluginAsync<FastifyResourceServerOptions> = async (fastify, options) => {
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options)
  if (typeof verifier?.verify !== 'function') throw new TypeError('"verifier" must be a Verifier')
  // The request property is declared once per server, so every request has the same shape.
  if (!fastify.hasRequestDecorator('accessToken')) fastify.decorateRequest('accessToken', undefined)
  fastify.decorate('requireToken', (requirements: Requirements = {}) =>
    requireToken({ verifier, ...requirements }),
  )
}

/**
 * The Fastify plugin of `@codegrant/resource-server`. It does not encapsulate (fastify-plugin):
 * registered in a context, it gives that context and its children `request.accessToken` and the
 * `requireToken(requirements?)` decorator, bound to one verifier. It protects nothing by itself:
 * put `app.requireToken()` on a route (`onRequest`), or `addHook('onRequest', app.requireToken())`
 * in an encapsulated context to protect all of its routes.
 *
 * @example
 * await app.register(fastifyResourceServer, { verifier })
 * app.get('/api/private', { onRequest: app.requireToken() }, (request) => ({ sub: request.accessToken?.sub }))
 * @throws {TypeError} for a bad option (when the plugin loads).
 */
export const fastifyResourceServer = fp(plugin, {
  fastify: '5.x',
  name: '@codegrant/resource-server',
})
