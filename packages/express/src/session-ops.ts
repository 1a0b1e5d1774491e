import type { Request } from 'express'
import { AuthError } from './errors.js'

function wrap(cause: unknown): AuthError {
  return cause instanceof AuthError
    ? cause
    : new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable', { cause })
}

/** `req.session.save()` as a promise. */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.save((err: unknown) => (err ? reject(wrap(err)) : resolve()))
  })
}

/** `req.session.regenerate()` as a promise: the old session is destroyed, a new empty one made. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err: unknown) => (err ? reject(wrap(err)) : resolve()))
  })
}

/** `req.session.destroy()` as a promise. */
export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.destroy((err: unknown) => (err ? reject(wrap(err)) : resolve()))
  })
}
