import type { NextFunction, Request, RequestHandler, Response } from 'express'
import {
  handleProtectedResourceMetadata,
  protectedResourceMetadataPaths,
} from '../resource-metadata.js'
import type { Verifier } from '../verifier.js'

/**
 * Express middleware serving the RFC 9728 protected resource metadata of a verifier made with
 * the `resourceMetadata` option, at the path of `resourceMetadata.url` (and the path-inserted
 * form of an http(s) resource identifier). Mount it at the application root; other requests pass
 * through.
 *
 * @example app.use(protectedResourceMetadata(verifier))
 * @throws {TypeError} for a verifier without `resourceMetadata`.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 */
export function protectedResourceMetadata(verifier: Verifier): RequestHandler {
  // Fails now for a verifier without metadata. Every other request pays one string compare.
  const paths = protectedResourceMetadataPaths(verifier)
  return function protectedResourceMetadataMiddleware(
    req: Request,
    res: Response,
    next: NextFunction,
  ) {
    if (!paths.includes(req.path)) {
      next()
      return
    }
    const answer = handleProtectedResourceMetadata(verifier, {
      method: req.method === 'HEAD' ? 'GET' : req.method,
      path: req.path,
    })
    if (answer === undefined) {
      next()
      return
    }
    res.status(answer.status).set(answer.headers).send(answer.body)
  }
}
