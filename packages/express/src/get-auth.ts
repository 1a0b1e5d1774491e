import type { Request } from 'express'
import { AuthError, type RequestAuth } from '@codegrant/session'

/** An Express request that went through `auth()`: `req.auth` is set. */
export type AuthRequest = Request & { auth: RequestAuth }

/**
 * `req.auth`, typed, for code that does not import `@codegrant/express/global`.
 *
 * @throws AuthError `ERR_SESSION_REQUIRED` when the request did not go through `auth()`.
 */
export function getAuth(req: Request): RequestAuth {
  const value = (req as Partial<AuthRequest>).auth
  if (value === undefined || typeof value.getAccessToken !== 'function') {
    throw new AuthError('ERR_SESSION_REQUIRED', 'auth() must be mounted before this handler')
  }
  return value
}
