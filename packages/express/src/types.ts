import type { RequestAuth } from './request-auth.js'

declare global {
  namespace Express {
    interface Request {
      /** Set by `auth()` from `@codegrant/express`: the login state of the session. */
      auth?: RequestAuth
    }
  }
}
