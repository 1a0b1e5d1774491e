import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express'
import { ResourceServerError, toErrorResponse } from '../errors.js'

/**
 * An Express error handler that answers a `ResourceServerError` the RFC 6750 way: its status, its
 * `WWW-Authenticate` (and `DPoP-Nonce`) headers, `Cache-Control: no-store` and a JSON body
 * `{ error, error_description }` with nothing internal in it. Other errors go to the next
 * handler.
 *
 * @example app.use(tokenErrorHandler())
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function tokenErrorHandler(): ErrorRequestHandler {
  return function resourceServerErrorHandler(
    err: unknown,
    _req: Request,
    res: Response,
    next: NextFunction,
  ) {
    if (!(err instanceof ResourceServerError) || res.headersSent) {
      next(err)
      return
    }
    const { status, headers, body } = toErrorResponse(err)
    res.status(status).set(headers).json(body)
  }
}
