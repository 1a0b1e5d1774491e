import type { TLSSocket } from 'node:tls'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { enforceRequirements } from '../access.js'
import type { AuthInfo } from '../auth-info.js'
import { getAuthContext, type AuthContext } from '../context.js'
import { ResourceServerError, withResourceMetadata } from '../errors.js'
import type { VerifyRequest } from '../extract.js'
import {
  resolveRequirements,
  type Requirements,
  type ResolvedRequirements,
  type VerifierOptions,
} from '../options.js'
import { createVerifier, getInternals, type Verifier } from '../verifier.js'

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

/**
 * Options of {@link requireAuth}: verifier options, or a verifier made by `createVerifier()` with
 * what this route needs (its scopes are registered in the verifier's protected resource metadata,
 * so `scopes_supported` and the 403 `scope=` agree).
 */
export type RequireAuthOptions = VerifierOptions | ({ verifier: Verifier } & Requirements)

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
  const shared = typeof options === 'object' && options !== null && 'verifier' in options
  const verifier = shared ? options.verifier : createVerifier(options)
  if (typeof verifier?.verify !== 'function') throw new TypeError('"verifier" must be a Verifier')
  const internals = getInternals(verifier)
  let route: ResolvedRequirements | undefined
  let requirements: Requirements | undefined
  if (shared) {
    const { verifier: _, ...rest } = options
    requirements = rest
    if (internals !== undefined) route = internals.state.requirementsOf(rest)
    else if (resolveRequirements(rest) !== undefined)
      throw new TypeError('route requirements need a verifier made by createVerifier()')
  }
  const fastPath = internals?.fastPath

  async function slowPath(req: Request, next: NextFunction): Promise<void> {
    let auth: AuthInfo
    try {
      auth =
        internals !== undefined
          ? await internals.verify(new ExpressRequest(req), route)
          : await verifier.verify(new ExpressRequest(req), requirements)
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
        auth = fastPath(req as VerifyRequest, route)
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
  // The verifier is known only once a verified token arrives: its scopes are registered then.
  // `requireAuth({ verifier, scopes })` registers them up front.
  const registered = new WeakSet<AuthContext>()
  return function requireAccessMiddleware(req: Request, _res: Response, next: NextFunction) {
    const auth = req.auth
    if (auth === undefined) {
      next(new ResourceServerError('ERR_TOKEN_MISSING', { realm: 'api' }))
      return
    }
    const context = getAuthContext(auth)
    if (context !== undefined && !registered.has(context)) {
      registered.add(context)
      context.register(resolved.scopes)
    }
    try {
      enforceRequirements(auth, resolved, Date.now() / 1000)
    } catch (err) {
      const url = context?.resourceMetadata
      next(
        url !== undefined && err instanceof ResourceServerError
          ? withResourceMetadata(err, url)
          : err,
      )
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
