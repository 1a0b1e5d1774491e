import type { FastifyReply } from 'fastify'
import { ResourceServerError, toErrorResponse } from '../errors.js'

/**
 * Answers a refusal the RFC 6750 way (status, `WWW-Authenticate`, `DPoP-Nonce`,
 * `Cache-Control: no-store`, JSON `{ error, error_description }`) and returns the reply, as an
 * async hook that replied must. Anything but a `ResourceServerError` is rethrown, for Fastify's
 * error handler.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function refuse(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof ResourceServerError)) throw err
  const { status, headers, body } = toErrorResponse(err)
  return reply.code(status).headers(headers).send(body)
}
