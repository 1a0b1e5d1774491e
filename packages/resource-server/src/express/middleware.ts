import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { AuthInfo } from '../auth-info.js'
import type { VerifyRequest } from '../extract.js'
import { createAccessCheck, createGuard, type RequireTokenOptions } from '../guard.js'
import { peerCertificate } from '../mtls.js'
import type { Requirements } from '../options.js'

export type { RequireTokenOptions } from '../guard.js'

declare global {
  namespace Express {
    interface Request {
      /**
       * The verified access token, set by `requireToken()` from `@codegrant/resource-server/express`
       * (distinct from `req.auth`, the login state of `@codegrant/express`).
       */
      accessToken?: AuthInfo
    }
  }
}

/**
 * The view of an Express request that the verifier reads. Getters are lazy: the request URL
 * (DPoP `htu`) and the client certificate (RFC 8705) are computed only when a token needs them.
 */
class ExpressRequest implements VerifyRequest {
  constructor(private readonly req: Request) {}

  get headers(): VerifyRequest['headers'] {
    return this.req.headers
  }

  get method(): string {
    return this.req.method
  }

  /** As the client addressed it: honours Express's `trust proxy` for protocol and host. */
  get url(): string {
    return `${this.req.protocol}://${this.req.host}${this.req.originalUrl}`
  }

  get body(): unknown {
    return this.req.body
  }

  get query(): unknown {
    return this.req.query
  }

  get clientCertificate(): Uint8Array | undefined {
    return peerCertificate(this.req.socket)
  }
}

/**
 * Express middleware that accepts only requests with a valid access token: it verifies the token
 * (see `createVerifier()`), sets the typed `req.accessToken`, and passes a `ResourceServerError`
 * (with `status` and `headers` holding the `WWW-Authenticate` challenge) to `next(err)`
 * otherwise. Add `tokenErrorHandler()` to answer such errors with an RFC 6750 JSON response;
 * Express's default handler also honours their status and headers.
 *
 * @example app.use('/api', requireToken({ issuer, audience: 'https://api.example.com' }))
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function requireToken(options: RequireTokenOptions): RequestHandler {
  const guard = createGuard(options)

  async function slowPath(req: Request, next: NextFunction): Promise<void> {
    let auth: AuthInfo
    try {
      auth = await guard.verify(new ExpressRequest(req))
    } catch (err) {
      next(err)
      return
    }
    req.accessToken = auth
    next()
  }

  return function requireAuthMiddleware(req: Request, _res: Response, next: NextFunction) {
    // A token verified before is answered synchronously, without a promise. Express's request
    // already has what the cached path reads (headers, method, body, query).
    let auth: AuthInfo | undefined
    try {
      auth = guard.fastPath(req as VerifyRequest)
    } catch (err) {
      next(err)
      return
    }
    if (auth !== undefined) {
      req.accessToken = auth
      next()
      return
    }
    void slowPath(req, next)
  }
}

function accessMiddleware(requirements: Requirements, name: string): RequestHandler {
  // The verifier is known only once a verified token arrives: its scopes are registered then.
  // `requireToken({ verifier, scopes })` registers them up front.
  const check = createAccessCheck(requirements, name)
  return function requireAccessMiddleware(req: Request, _res: Response, next: NextFunction) {
    try {
      check(req.accessToken)
    } catch (err) {
      next(err)
      return
    }
    next()
  }
}

/**
 * Express middleware, after `requireToken()`, that needs every one of `scopes`: otherwise 403
 * `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
 * scope="..."`.
 *
 * @example app.get('/api/messages', requireToken(options), requireScopes('read:messages'), handler)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  return accessMiddleware({ scopes }, 'requireScopes()')
}

/**
 * Express middleware, after `requireToken()`, that enforces {@link Requirements}: scopes (all or
 * any), claim checks (403) and RFC 9470 step-up (`acrValues`, `maxAuthAge`: 401
 * `insufficient_user_authentication`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3
 */
export function requireAccess(requirements: Requirements): RequestHandler {
  return accessMiddleware(requirements, 'requireAccess()')
}
