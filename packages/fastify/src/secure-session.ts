// Sessions kept in the browser: @fastify/secure-session's encrypted cookie. Its typings declare
// `request.session` as its own Session, which conflicts with @fastify/session's declaration: this
// module names the few members it uses instead of importing them.
import { randomBytes } from 'node:crypto'
import {
  AuthError,
  backchannelLogOutCookies,
  endLoggedOutSession,
  sessionTooLarge,
  type CallbackInput,
  type ResolvedOptions,
  type SessionData,
  type SessionStore,
  type VaultSession,
} from '@codegrant/session'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { SessionAdapter } from './session-adapter.js'

/** The members of @fastify/secure-session's `request.session` this package uses. */
interface SecureSession {
  changed: boolean
  get(key: string): unknown
  set(key: string, value: unknown): void
  delete(): void
  regenerate(ignoreFields?: string[]): void
  options(options: Record<string, unknown>): void
}

/** The instance decorator of @fastify/secure-session that encodes a session into its cookie value. */
type Encode = (session: SecureSession) => string

/**
 * The most a browser keeps of one cookie: name, `=` and value together (RFC 6265 section 6.1's
 * minimum, and what Chrome, Firefox and Safari keep). A larger cookie is dropped without a word.
 */
export const COOKIE_LIMIT = 4096
// Room left for the cookie's name (@fastify/secure-session's `cookieName`, `session` by default).
const NAME_ALLOWANCE = 64
/** The most the encoded cookie value may be, in bytes. */
export const COOKIE_VALUE_LIMIT = COOKIE_LIMIT - NAME_ALLOWANCE

// @fastify/secure-session's cookie value: `<ciphertext, base64>;<nonce, 24 bytes in base64>`.
const SEALED_COOKIE = /^[A-Za-z0-9+/]+={0,2};[A-Za-z0-9+/]{32}$/

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

const secureOf = (request: FastifyRequest): SecureSession =>
  request.session as unknown as SecureSession

const noStore = (): never => {
  throw new AuthError('ERR_SESSION_REQUIRED', 'A cookie session has no server-side store')
}

/** What a cookie session answers for a store: it has none (the cookie vault never calls it). */
const NO_STORE: SessionStore = Object.freeze({
  get: noStore,
  set: noStore,
  destroy: noStore,
})

/** Whether the request carries a @fastify/secure-session session (it sets one on every request). */
function hasSecureSession(request: FastifyRequest): boolean {
  const session = request.session as unknown as Partial<SecureSession> | null | undefined
  return typeof session?.get === 'function' && typeof session.regenerate === 'function'
}

/**
 * The vault's view of a @fastify/secure-session session. Its data is the secure session itself
 * (its proxy reads and writes keys); the session id is a random value kept in this package's
 * section of it (the associated data of the sealed records, and the lock key), new at each
 * `regenerate()`. `save()` writes the section back (marking the cookie changed) after checking
 * that the encoded cookie fits in {@link COOKIE_VALUE_LIMIT}; when it does not, the cookie is
 * left as the browser has it and `save()` rejects with `ERR_SESSION_TOO_LARGE`.
 */
class SecureVaultSession implements VaultSession {
  private pendingId: string | undefined

  constructor(
    private readonly request: FastifyRequest,
    private readonly sessionKey: string,
    private readonly encode: Encode,
  ) {}

  private get secure(): SecureSession {
    return secureOf(this.request)
  }

  get id(): string {
    const section = this.secure.get(this.sessionKey)
    const id = isObject(section) ? section.id : undefined
    if (typeof id === 'string' && id.length > 0) return id
    return (this.pendingId ??= randomBytes(18).toString('base64url'))
  }

  get data(): SessionData {
    return this.secure as unknown as SessionData
  }

  get store(): SessionStore {
    return NO_STORE
  }

  async save(): Promise<void> {
    const secure = this.secure
    const section = secure.get(this.sessionKey)
    if (isObject(section)) {
      section.id = this.id
      // The section's fields were changed in place: set it again so the cookie is written.
      secure.set(this.sessionKey, section)
    }
    const size = encodeURIComponent(this.encode(secure)).length
    if (size > COOKIE_VALUE_LIMIT) {
      // Never a cookie the browser would drop: it keeps the one it has.
      secure.changed = false
      throw sessionTooLarge(size, COOKIE_VALUE_LIMIT)
    }
  }

  async regenerate(): Promise<void> {
    const secure = this.secure
    secure.regenerate()
    // Cookie options of the login-only cookie (its short maxAge) do not carry over.
    secure.options({})
    this.pendingId = undefined
  }

  async destroy(): Promise<void> {
    // Emptied first, so the rest of this request sees no session either; then the cookie is cleared.
    await this.regenerate()
    this.secure.delete()
  }

  expireIn(seconds: number): void {
    // The cookie's Max-Age (@fastify/cookie: seconds); @fastify/secure-session's own `expiry`
    // still bounds the session from the time of its last write.
    this.secure.options({ maxAge: Math.ceil(seconds) })
  }
}

/** What the cookies say about the request's session, for a callback that matches no login. */
function cookieStateOf(
  request: FastifyRequest,
  config: ResolvedOptions,
): CallbackInput['sessionCookie'] {
  if (isObject(secureOf(request).get(config.sessionKey))) return 'current'
  const values = Object.values(request.cookies).filter((v): v is string => typeof v === 'string')
  // A sealed cookie that did not open (another key, edited, expired) or holds no login of ours.
  return values.some((v) => SEALED_COOKIE.test(v)) ? 'other' : 'none'
}

/**
 * Sessions kept in @fastify/secure-session's encrypted cookie. `backchannel` turns on the
 * per-request check of the logged-out sessions back-channel logout recorded.
 *
 * @param fastify the instance @fastify/secure-session decorated (its `encodeSecureSession`)
 */
export function secureSessionAdapter(
  fastify: FastifyInstance,
  options: { sessionKey: string; backchannel: boolean },
): SessionAdapter {
  const encoder = (fastify as unknown as { encodeSecureSession: Encode }).encodeSecureSession
  const encode: Encode = (session) => encoder.call(fastify, session)
  const { sessionKey } = options
  // One view per request: a session id not written yet must be the same for every step of it.
  const views = new WeakMap<FastifyRequest, SecureVaultSession>()
  const sessionOf = (request: FastifyRequest): VaultSession => {
    let view = views.get(request)
    if (view === undefined)
      views.set(request, (view = new SecureVaultSession(request, sessionKey, encode)))
    return view
  }
  return Object.freeze({
    plugin: '@fastify/secure-session' as const,
    has: hasSecureSession,
    sessionOf,
    cookieState: cookieStateOf,
    maxAge: () => undefined,
    backchannelLogOut: (ctx, _request, body) => backchannelLogOutCookies(ctx, body),
    ...(options.backchannel ? { check: endLoggedOutSession } : {}),
  } satisfies SessionAdapter)
}
