import type { Request } from 'express'
// The express-session typing of `req.session`, `req.sessionID` and `req.sessionStore`.
import type {} from 'express-session'
import {
  AuthError,
  type SessionData,
  type SessionStore,
  type VaultSession,
} from '@codegrant/session'

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

/** The request's express-session store, as the vault sees it (`undefined` without express-session). */
export function storeOf(req: Request): SessionStore | undefined {
  // express-session's Store types the session as its own SessionData (cookie required); the
  // vault only needs the callback methods.
  return req.sessionStore as unknown as SessionStore | undefined
}

/** The vault's view of an Express request's express-session session (live: follows regenerate). */
class ExpressVaultSession implements VaultSession {
  constructor(private readonly req: Request) {}
  get id(): string {
    return this.req.sessionID
  }
  get data(): SessionData {
    return this.req.session as unknown as SessionData
  }
  get store(): SessionStore {
    return storeOf(this.req) as SessionStore
  }
  save(): Promise<void> {
    return run(this.req, 'save')
  }
  regenerate(): Promise<void> {
    return run(this.req, 'regenerate')
  }
  destroy(): Promise<void> {
    return run(this.req, 'destroy')
  }
  expireIn(seconds: number): void {
    this.req.session.cookie.maxAge = seconds * 1000
  }
}

/** The vault's view of an Express request's express-session session (live: follows regenerate). */
export function sessionOf(req: Request): VaultSession {
  return new ExpressVaultSession(req)
}
