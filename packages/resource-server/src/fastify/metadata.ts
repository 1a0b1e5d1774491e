import type { FastifyPluginAsync } from 'fastify'
import {
  handleProtectedResourceMetadata,
  protectedResourceMetadataPaths,
} from '../resource-metadata.js'
import type { Verifier } from '../verifier.js'

/** Options of {@link protectedResourceMetadata}. */
export interface ProtectedResourceMetadataOptions {
  /** A verifier made by `createVerifier()` with the `resourceMetadata` option. */
  verifier: Verifier
}

/**
 * Methods answered 405 at the metadata paths. OPTIONS is left to the app (a CORS plugin's
 * preflight); the document itself needs none (a simple GET, `Access-Control-Allow-Origin: *`).
 */
const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

/**
 * A Fastify plugin serving the RFC 9728 protected resource metadata of a verifier made with the
 * `resourceMetadata` option: `GET` and `HEAD` at the path of `resourceMetadata.url` (and the
 * path-inserted form of an http(s) resource identifier), 405 for other methods. The paths are
 * absolute: register it without a `prefix`, outside any context that requires a token.
 *
 * @example await app.register(protectedResourceMetadata, { verifier })
 * @throws {TypeError} for a verifier without `resourceMetadata`, or under a prefix.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 */
export const protectedResourceMetadata: FastifyPluginAsync<
  ProtectedResourceMetadataOptions
> = async (fastify, { verifier }) => {
  const paths = protectedResourceMetadataPaths(verifier)
  if (fastify.prefix !== '')
    throw new TypeError(
      `protectedResourceMetadata must be registered without a prefix (it serves ${paths.join(', ')})`,
    )
  for (const path of paths) {
    fastify.route({
      method: ['GET', 'HEAD', ...OTHER_METHODS],
      url: path,
      handler(request, reply) {
        // HEAD as GET: Fastify drops the body and keeps its length.
        const answer = handleProtectedResourceMetadata(verifier, {
          method: request.method === 'HEAD' ? 'GET' : request.method,
          path,
        })!
        return reply.code(answer.status).headers(answer.headers).send(answer.body)
      },
    })
  }
}
