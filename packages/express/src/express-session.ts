import type { Request } from 'express'
// The express-session typing of `req.session`, `req.sessionID` and `req.sessionStore`.
import type {} from 'express-session'
import { AuthError } from './errors.js'
import type { SessionData } from './session-record.js'
import type { SessionStore, VaultSession } from './session-vault.js'

function wrap(cause: unknown): AuthError {
  return cause instanceof AuthError
    ? cause
    : new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable', { cause })
}

function run(req: Request, method: 'save' | 'regenerate' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session[method]((err: unknown) => (err ? reject(wrap(err)) : resolve()))
  })
}

/** The vault's view of an Express request's express-session session (live: follows regenerate). */
export function sessionOf(req: Request): VaultSession {
  return {
    get id() {
      return req.sessionID
    },
    get data() {
      return req.session as unknown as SessionData
    },
    get store() {
      // express-session's Store types the session as its own SessionData (cookie required); the
      // vault only needs the callback methods.
      return req.sessionStore as unknown as SessionStore
    },
    save: () => run(req, 'save'),
    regenerate: () => run(req, 'regenerate'),
    destroy: () => run(req, 'destroy'),
    expireIn(seconds) {
      req.session.cookie.maxAge = seconds * 1000
    },
  }
}
