/**
 * Opt-in typing of `req.auth` for the whole program: `import '@codegrant/express/global'` once.
 *
 * Not part of the main entry because `@codegrant/resource-server/express` (and
 * express-oauth2-jwt-bearer) type `req.auth` differently: TypeScript refuses two declarations of
 * one property. Without it, use {@link AuthRequest} or `getAuth(req)`.
 */
import type { RequestAuth } from '@codegrant/session'

declare global {
  namespace Express {
    interface Request {
      /** Set by `auth()` from `@codegrant/express`: the login state of the session. */
      auth?: RequestAuth
    }
  }
}

export {}
