/// <reference path="./vendor-modules.d.ts" />
import { randomBytes } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import expressSession from 'express-session'
import onHeaders from 'on-headers'
import { SessionIdReader, signSessionId } from './session-cookie.js'
import { sameAsSnapshot, takeSnapshot, type SnapshotObject } from './session-snapshot.js'

type Store = expressSession.Store
type Session = expressSession.Session & Partial<expressSession.SessionData>
type Callback = (err?: unknown) => void

/** express-session's classes as they are at runtime (its typings hide the constructors). */
interface Runtime {
  readonly Session: new (req: Request, data?: object) => Session
  readonly Cookie: new (
    options?: expressSession.CookieOptions,
  ) => expressSession.Cookie & { serialize(name: string, value: string): string }
  readonly MemoryStore: new () => Store
}
const runtime = expressSession as unknown as Runtime

/**
 * Options of {@link sessionMiddleware}: express-session's, with the same names, defaults and
 * meaning, minus its deprecated fallbacks (`resave` and `saveUninitialized` must be given, the
 * secret is not read from `req.secret`, the cookie is not read from cookie-parser's
 * `req.cookies`) and without a cookie-options function.
 */
export interface SessionMiddlewareOptions {
  /** Signs the session-id cookie; with several, the first signs and every one is accepted. */
  secret: string | readonly string[]
  /** Where sessions live (any express-session store). @default a new express-session MemoryStore */
  store?: Store
  /** The session-id cookie's name. @default 'connect.sid' */
  name?: string
  /** The cookie's attributes (express-session's `cookie` option; `secure` may be `'auto'`). */
  cookie?: expressSession.CookieOptions
  /** Save the session at the end of every request, even when unchanged. */
  resave: boolean
  /** Save (and send the cookie of) a new session that the request did not change. */
  saveUninitialized: boolean
  /** Send the cookie (a fresh expiry) on every response. @default false */
  rolling?: boolean
  /** What `req.session = null` (or `delete req.session`) does to the stored session. @default 'keep' */
  unset?: 'destroy' | 'keep'
  /** Makes a new session id. @default 24 random bytes, base64url */
  genid?: (req: Request) => string
  /**
   * Trust `X-Forwarded-Proto` for secure cookies: `true` trusts it, `false` only a TLS socket,
   * `undefined` Express's `req.secure` (its "trust proxy" setting).
   */
  proxy?: boolean
}

interface Resolved {
  readonly store: Store
  readonly secrets: readonly string[]
  readonly name: string
  readonly cookie: expressSession.CookieOptions
  readonly resave: boolean
  readonly saveUninitialized: boolean
  readonly rolling: boolean
  readonly unsetDestroy: boolean
  readonly genid: (req: Request) => string
  readonly proxy: boolean | undefined
}

function fail(option: string, rule: string): never {
  throw new TypeError(`sessionMiddleware(): "${option}" ${rule}`)
}

function resolve(options: SessionMiddlewareOptions): Resolved {
  const o = options as Partial<SessionMiddlewareOptions> | undefined
  if (o === null || typeof o !== 'object') fail('options', 'must be an object')
  const secrets = typeof o.secret === 'string' ? [o.secret] : o.secret
  if (!Array.isArray(secrets) || secrets.length === 0) {
    fail('secret', 'must be a non-empty string or a non-empty array of them')
  }
  for (const s of secrets as unknown[]) {
    if (typeof s !== 'string' || s.length === 0) fail('secret', 'must hold non-empty strings')
  }
  if (typeof o.resave !== 'boolean') fail('resave', 'must be true or false')
  if (typeof o.saveUninitialized !== 'boolean') fail('saveUninitialized', 'must be true or false')
  if (o.rolling !== undefined && typeof o.rolling !== 'boolean') {
    fail('rolling', 'must be true or false')
  }
  if (o.unset !== undefined && o.unset !== 'destroy' && o.unset !== 'keep') {
    fail('unset', 'must be "destroy" or "keep"')
  }
  if (o.genid !== undefined && typeof o.genid !== 'function') fail('genid', 'must be a function')
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
    fail('name', 'must be a non-empty string')
  }
  if (o.cookie !== undefined && (o.cookie === null || typeof o.cookie !== 'object')) {
    fail('cookie', 'must be an object')
  }
  if (o.proxy !== undefined && typeof o.proxy !== 'boolean') fail('proxy', 'must be true or false')
  return {
    store: o.store ?? new runtime.MemoryStore(),
    secrets: Object.freeze([...(secrets as string[])]),
    name: o.name ?? 'connect.sid',
    cookie: o.cookie ?? {},
    resave: o.resave,
    saveUninitialized: o.saveUninitialized,
    rolling: o.rolling === true,
    unsetDestroy: o.unset === 'destroy',
    genid: o.genid ?? (() => randomBytes(24).toString('base64url')),
    proxy: o.proxy,
  }
}

/** Whether the request came over TLS, as the `proxy` option says to tell. */
function isSecure(req: Request, proxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted === true) return true
  if (proxy === false) return false
  if (proxy !== true) return req.secure
  const header = req.headers['x-forwarded-proto']
  const first = (typeof header === 'string' ? header : '').split(',')[0] ?? ''
  return first.trim().toLowerCase() === 'https'
}

/** The request path the cookie's `path` is matched against (the URL as it arrived). */
function originalPath(req: Request): string {
  const url = req.originalUrl || req.url
  const end = url.search(/[?#]/)
  const path = end === -1 ? url : url.slice(0, end)
  return path === '' ? '/' : path
}

/** What every request of one middleware shares. */
interface Shared {
  readonly config: Resolved
  readonly store: Store
  /** Whether the store had `touch` when the middleware was made (express-session's rule). */
  readonly touches: boolean
  readonly signingSecret: string
  readonly generateInto: (req: Request) => void
}

/** `res.end` as it was, called back with the arguments it was given. */
type AnyEnd = (...args: never[]) => unknown

/**
 * One request's session bookkeeping: the id the cookie carried, the snapshot of the session as
 * loaded (or generated) and as last saved, and the decisions express-session makes from them.
 */
class RequestSession {
  originalId: string | undefined
  original: SnapshotObject | undefined
  saved: SnapshotObject | undefined
  private touched = false
  private ended = false

  constructor(
    private readonly shared: Shared,
    private readonly req: Request,
    private readonly res: Response,
    private readonly next: NextFunction,
    private readonly cookieId: string | undefined,
  ) {}

  private current(): Session | undefined {
    return (this.req.session as Session | null | undefined) ?? undefined
  }

  private sessionId(): unknown {
    return (this.req as { sessionID?: unknown }).sessionID
  }

  private modified(s: Session): boolean {
    return (
      this.originalId !== s.id || this.original === undefined || !sameAsSnapshot(s, this.original)
    )
  }

  private isSaved(s: Session): boolean {
    return this.originalId === s.id && this.saved !== undefined && sameAsSnapshot(s, this.saved)
  }

  private shouldSave(s: Session): boolean {
    if (typeof this.sessionId() !== 'string') return false
    return !this.shared.config.saveUninitialized &&
      this.saved === undefined &&
      this.cookieId !== this.sessionId()
      ? this.modified(s)
      : !this.isSaved(s)
  }

  private shouldSetCookie(s: Session): boolean {
    if (typeof this.sessionId() !== 'string') return false
    const { config } = this.shared
    return this.cookieId !== this.sessionId()
      ? config.saveUninitialized || this.modified(s)
      : config.rolling || (s.cookie.expires != null && this.modified(s))
  }

  private touch(s: Session): void {
    if (this.touched) return
    s.touch()
    this.touched = true
  }

  /** Makes `save` record what was saved, and `reload` keep doing so for the reloaded session. */
  private wrap(s: Session): void {
    const { save, reload } = s
    const state = this
    Object.defineProperty(s, 'save', {
      configurable: true,
      enumerable: false,
      writable: true,
      value(this: Session, callback?: Callback) {
        state.saved = takeSnapshot(this)
        return save.call(this, callback)
      },
    })
    Object.defineProperty(s, 'reload', {
      configurable: true,
      enumerable: false,
      writable: true,
      value(this: Session, callback: Callback) {
        return reload.call(this, (err?: unknown) => {
          const now = state.current()
          if (now !== undefined && now !== this) state.wrap(now)
          callback(err)
        })
      },
    })
  }

  /** Takes the session's starting point; `data` is what express-session hashes (the store's object). */
  start(s: Session, data: object): void {
    this.originalId = s.id
    this.original = takeSnapshot(data)
    this.wrap(s)
  }

  /** A new session for this request. */
  generate(): void {
    this.shared.generateInto(this.req)
    const s = this.req.session as Session
    this.start(s, s)
  }

  /** Just before the headers go out: the session cookie, when it is due. */
  beforeHeaders(): void {
    const s = this.current()
    if (s === undefined || !this.shouldSetCookie(s)) return
    if (s.cookie.secure && !isSecure(this.req, this.shared.config.proxy)) return
    this.touch(s)
    try {
      const cookie = s.cookie as InstanceType<Runtime['Cookie']>
      const value = signSessionId(this.req.sessionID, this.shared.signingSecret)
      this.res.append('Set-Cookie', cookie.serialize(this.shared.config.name, value))
    } catch (err) {
      setImmediate(() => this.next(err))
    }
  }

  /** `res.end`: ends the response once the store call it needs (save, touch, destroy) is done. */
  end(end: AnyEnd, args: unknown[]): void {
    if (this.ended) return
    this.ended = true
    const { res, next } = this
    const done: Callback = (err) => {
      if (err) setImmediate(() => next(err))
      end.apply(res, args as never[])
    }
    const { store, config } = this.shared
    const sid = this.sessionId()
    const s = this.current()
    if (s === undefined) {
      if (typeof sid === 'string' && sid !== '' && config.unsetDestroy) store.destroy(sid, done)
      else done()
      return
    }
    this.touch(s)
    if (this.shouldSave(s)) {
      s.save(done)
      return
    }
    if (
      this.shared.touches &&
      typeof store.touch === 'function' &&
      typeof sid === 'string' &&
      this.cookieId === sid
    ) {
      store.touch(sid, s as expressSession.SessionData, done)
      return
    }
    done()
  }
}

/**
 * A session middleware with express-session's behaviour, store interface, `req.session` API
 * (express-session's own `Session` and `Cookie` objects) and cookie format, that does less work
 * per request: it tells a changed session from an unchanged one by comparing it with a
 * structural snapshot taken when it was loaded (express-session serialises and SHA-1-hashes it
 * up to three times per request), and checks the cookie's signature with one HMAC per secret.
 *
 * It makes the same decisions at the end of every request, option by option: the session is
 * saved when it changed (or always, with `resave`; a new unchanged one only with
 * `saveUninitialized`), the store's `touch` is called for a loaded unchanged one, the cookie is
 * sent for a new session that is saved, for a changed one with an expiry, or always with
 * `rolling`; `unset: 'destroy'` destroys a session set to `null`. The response ends after the
 * store call has finished. Store errors reach `next(err)` as in express-session.
 *
 * ```ts
 * app.use(sessionMiddleware({ secret, store, resave: false, saveUninitialized: false,
 *   cookie: { httpOnly: true, sameSite: 'lax', secure: isHttps, maxAge: 86_400_000 } }))
 * app.use(auth({ ... }))
 * ```
 *
 * @throws TypeError for an invalid option, naming it.
 */
export function sessionMiddleware(options: SessionMiddlewareOptions): RequestHandler {
  const config = resolve(options)
  const { store, secrets, name, cookie: cookieOptions } = config
  const signingSecret = secrets[0] as string

  // Used by the store's `regenerate` (and so by `req.session.regenerate()`), as express-session does.
  const generateInto = (req: Request): void => {
    req.sessionID = config.genid(req)
    const session = new runtime.Session(req)
    session.cookie = new runtime.Cookie(cookieOptions)
    req.session = session as Request['session']
    const secure = isSecure(req, config.proxy)
    if (cookieOptions.secure === 'auto') session.cookie.secure = secure
    // express-session accepts `sameSite: 'auto'` too (its typings do not list it).
    if ((cookieOptions.sameSite as unknown) === 'auto') {
      session.cookie.sameSite = secure ? 'none' : 'lax'
    }
  }
  // express-session's typings declare the hook with a narrower request type.
  ;(store as { generate?: unknown }).generate = generateInto

  const touches = typeof store.touch === 'function'
  let storeReady = true
  store.on('disconnect', () => {
    storeReady = false
  })
  store.on('connect', () => {
    storeReady = true
  })

  const ids = new SessionIdReader(name, secrets)
  const shared: Shared = { config, store, touches, signingSecret, generateInto }

  return function session(req: Request, res: Response, next: NextFunction): void {
    if (req.session) {
      next()
      return
    }
    if (!storeReady) {
      next()
      return
    }
    if (!originalPath(req).startsWith(cookieOptions.path ?? '/')) {
      next()
      return
    }
    req.sessionStore = store as Request['sessionStore']
    const cookieId = ids.read(req.headers.cookie) || undefined
    ;(req as { sessionID: string | undefined }).sessionID = cookieId
    const state = new RequestSession(shared, req, res, next, cookieId)
    onHeaders(res, () => state.beforeHeaders())
    const end: AnyEnd = res.end
    res.end = function (this: Response, ...args: unknown[]): Response {
      state.end(end, args)
      return this
    } as Response['end']

    if (cookieId === undefined) {
      state.generate()
      next()
      return
    }
    store.get(cookieId, (err: unknown, found?: expressSession.SessionData | null) => {
      if (err && (err as { code?: unknown }).code !== 'ENOENT') {
        next(err)
        return
      }
      try {
        if (err || !found) state.generate()
        else {
          store.createSession(req, found)
          state.start(req.session as Session, found)
          if (!config.resave) state.saved = state.original
        }
      } catch (e) {
        next(e)
        return
      }
      next()
    })
  }
}
