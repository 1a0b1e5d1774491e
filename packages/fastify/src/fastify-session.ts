import type { FastifyRequest } from 'fastify'
// The @fastify/session typing of `request.session` and `request.sessionStore`.
import type {} from '@fastify/session'
// The @fastify/cookie typing of `request.cookies`.
import type {} from '@fastify/cookie'
import {
  AuthError,
  backchannelLogOut,
  type CallbackInput,
  type SessionData,
  type SessionStore,
  type VaultSession,
} from '@codegrant/session'
import type { SessionAdapter } from './session-adapter.js'

function wrap(cause: unknown): AuthError {
  return cause instanceof AuthError
    ? cause
    : new AuthError('ERR_STORE_UNAVAILABLE', 'The session store is unavailable', { cause })
}

/** Whether the request carries a @fastify/session session (not the placeholder `{}`). */
export function hasSession(request: FastifyRequest): boolean {
  const session = request.session as unknown as { sessionId?: unknown } | null | undefined
  return typeof session?.sessionId === 'string'
}

/** The request's @fastify/session store, as the vault sees it. */
export function storeOf(request: FastifyRequest): SessionStore | undefined {
  // @fastify/session types the store with its own Session type; the vault needs the callbacks.
  return request.sessionStore as unknown as SessionStore | undefined
}

/**
 * The vault's view of a Fastify request's @fastify/session session. Live: @fastify/session's
 * `regenerate()` puts a new Session object on `request.session` (and `destroy()` puts `null`), so
 * every getter reads `request.session` again.
 */
class FastifyVaultSession implements VaultSession {
  constructor(private readonly request: FastifyRequest) {}
  get id(): string {
    return this.request.session.sessionId
  }
  get data(): SessionData {
    return this.request.session as unknown as SessionData
  }
  get store(): SessionStore {
    return storeOf(this.request) as SessionStore
  }
  save(): Promise<void> {
    return this.request.session.save().catch((err: unknown) => Promise.reject(wrap(err)))
  }
  regenerate(): Promise<void> {
    return this.request.session.regenerate().catch((err: unknown) => Promise.reject(wrap(err)))
  }
  destroy(): Promise<void> {
    return this.request.session.destroy().catch((err: unknown) => Promise.reject(wrap(err)))
  }
  expireIn(seconds: number): void {
    // The expiry only, not `maxAge`: @fastify/session keeps a session's cookie options (its
    // `maxAge` included) through `regenerate()`, so a shortened `maxAge` would carry over from
    // the login session to the logged-in one. The stored `expires` still ends the session (and
    // gives connect-redis its TTL).
    this.request.session.cookie.expires = new Date(Date.now() + seconds * 1000)
  }
}

/** The vault's view of the request's @fastify/session session (live: follows regenerate). */
export function sessionOf(request: FastifyRequest): VaultSession {
  return new FastifyVaultSession(request)
}

// A @fastify/session cookie: `<session id>.<HMAC signature, base64 without padding>`.
const SIGNED_ID = /^[\w-]{8,}\.[\w+/-]{20,}={0,2}$/

/**
 * What the cookies say about the request's session. @fastify/session signs its cookie as
 * `<session id>.<signature>`: when no cookie holds the id of the request's session, the session
 * was just created, i.e. the one the login was started in did not come back.
 */
function sessionCookieOf(request: FastifyRequest): CallbackInput['sessionCookie'] {
  const values = Object.values(request.cookies).filter((v): v is string => typeof v === 'string')
  const prefix = `${request.session.sessionId}.`
  if (values.some((v) => v.startsWith(prefix))) return 'current'
  return values.some((v) => SIGNED_ID.test(v)) ? 'other' : 'none'
}

/** Sessions in @fastify/session's server-side store (the default mode). */
export const fastifySessionAdapter: SessionAdapter = Object.freeze({
  plugin: '@fastify/session' as const,
  has: hasSession,
  sessionOf,
  cookieState: sessionCookieOf,
  maxAge: (request: FastifyRequest) => request.session.cookie.maxAge ?? undefined,
  backchannelLogOut: (
    ctx: Parameters<SessionAdapter['backchannelLogOut']>[0],
    request: FastifyRequest,
    body: Readonly<Record<string, unknown>> | undefined,
  ) => backchannelLogOut(ctx, storeOf(request), body),
})
