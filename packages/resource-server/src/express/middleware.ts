import type { TLSSocket } from 'node:tls'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { enforceRequirements } from '../access.js'
import type { AuthInfo } from '../auth-info.js'
import { ResourceServerError } from '../errors.js'
import type { VerifyRequest } from '../extract.js'
import { resolveRequirements, type Requirements, type VerifierOptions } from '../options.js'
import { createVerifier, getFastPath, type Verifier } from '../verifier.js'

declare global {
  namespace Express {
    interface Request {
      /** The verified access token, set by `requireAuth()`. */
      auth?: AuthInfo
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
    const socket = this.req.socket as Partial<TLSSocket>
    if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function')
      return undefined
    const raw = socket.getPeerCertificate().raw as Buffer | undefined
    return raw === undefined || raw.length === 0 ? undefined : raw
  }
}

/** Options of {@link requireAuth}: verifier options, or a verifier made by `createVerifier()`. */
export type RequireAuthOptions = VerifierOptions | { verifier: Verifier }

/**
 * Express middleware that accepts only requests with a valid access token: it verifies the token
 * (see `createVerifier()`), sets the typed `req.auth`, and passes a `ResourceServerError` (with
 * `status` and `headers` holding the `WWW-Authenticate` challenge) to `next(err)` otherwise. Add
 * `authErrorHandler()` to answer such errors with an RFC 6750 JSON response; Express's default
 * handler also honours their status and headers.
 *
 * @example app.use('/api', requireAuth({ issuer, audience: 'https://api.example.com' }))
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 */
export function requireAuth(options: RequireAuthOptions): RequestHandler {
  const verifier =
    typeof options === 'object' && options !== null && 'verifier' in options
      ? options.verifier
      : createVerifier(options)
  if (typeof verifier?.verify !== 'function') throw new TypeError('"verifier" must be a Verifier')
  const fastPath = getFastPath(verifier)

  async function slowPath(req: Request, next: NextFunction): Promise<void> {
    let auth: AuthInfo
    try {
      auth = await verifier.verify(new ExpressRequest(req))
    } catch (err) {
      next(err)
      return
    }
    req.auth = auth
    next()
  }

  return function requireAuthMiddleware(req: Request, _res: Response, next: NextFunction) {
    if (fastPath !== undefined) {
      // A token verified before is answered synchronously, without a promise. Express's
      // request already has what the cached path reads (headers, method, body, query).
      let auth: AuthInfo | undefined
      try {
        auth = fastPath(req as VerifyRequest)
      } catch (err) {
        next(err)
        return
      }
      if (auth !== undefined) {
        req.auth = auth
        next()
        return
      }
    }
    void slowPath(req, next)
  }
}

function accessMiddleware(requirements: Requirements, name: string): RequestHandler {
  const resolved = resolveRequirements(requirements)
  if (resolved === undefined) throw new TypeError(`${name} needs at least one requirement`)
  return function requireAccessMiddleware(req: Request, _res: Response, next: NextFunction) {
    const auth = req.auth
    if (auth === undefined) {
      next(new ResourceServerError('ERR_TOKEN_MISSING', { realm: 'api' }))
      return
    }
    try {
      enforceRequirements(auth, resolved, Date.now() / 1000)
    } catch (err) {
      next(err)
      return
    }
    next()
  }
}

/**
 * Express middleware, after `requireAuth()`, that needs every one of `scopes`: otherwise 403
 * `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
 * scope="..."`.
 *
 * @example app.get('/api/messages', requireAuth(options), requireScopes('read:messages'), handler)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  return accessMiddleware({ scopes }, 'requireScopes()')
}

/**
 * Express middleware, after `requireAuth()`, that enforces {@link Requirements}: scopes (all or
 * any), claim checks (403) and RFC 9470 step-up (`acrValues`, `maxAuthAge`: 401
 * `insufficient_user_authentication`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3
 */
export function requireAccess(requirements: Requirements): RequestHandler {
  return accessMiddleware(requirements, 'requireAccess()')
}
