import type { FastifyRequest } from 'fastify'
import Negotiator from 'negotiator'

const OFFERS = ['text/html', 'application/json']

/**
 * Whether the client prefers JSON to HTML: an XHR (`X-Requested-With: XMLHttpRequest`), or an
 * `Accept` header that ranks `application/json` above `text/html` (a tie, or no `Accept`, is HTML:
 * what Express's `req.accepts(['html', 'json'])` answers).
 */
export function prefersJson(request: FastifyRequest): boolean {
  if (request.headers['x-requested-with'] === 'XMLHttpRequest') return true
  return new Negotiator(request).mediaType(OFFERS) === 'application/json'
}
