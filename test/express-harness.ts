// Shared helpers for the @codegrant/express integration tests: an Express app with
// express-session and auth() on 127.0.0.1:0, and a tiny browser-like HTTP agent with a cookie jar.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createClient, type Client } from '@codegrant/core'
import { auth, requiresAuth, type AuthOptions, type RequestAuth } from '@codegrant/express'
import { completeLogin, CookieJar, localClients, type LocalAs } from '@codegrant/local-as'
import express, {
  type Express,
  type NextFunction,
  type Request,
  type Response as ExpressResponse,
} from 'express'
import session, { type Store } from 'express-session'

/** `req.auth` typed as ours, without relying on the `@codegrant/express/global` augmentation. */
export const authOf = (req: Request): RequestAuth => (req as unknown as { auth: RequestAuth }).auth

export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef-0123456789'
export const SESSION_SECRET = 'test-session-secret'

export interface TestApp {
  readonly url: string
  readonly app: Express
  readonly store: Store
  client(): Promise<Client>
  close(): Promise<void>
}

export interface TestAppOptions {
  as: LocalAs
  store?: Store
  auth?: Partial<AuthOptions>
  /** Routes added after auth() and the default ones. */
  routes?: (app: Express) => void
  /** Runs before auth() (e.g. a slow middleware). */
  before?: (app: Express) => void
  scope?: string
  fetch?: typeof fetch
  /** Another registered client (default: web-basic). */
  clientId?: string
  clientSecret?: string
  /** Host name of the app's URL (it listens on 127.0.0.1). @default '127.0.0.1' */
  publicHost?: string
}

/**
 * Starts an app: session, auth(), `/me` (`{ sub, claims: user, idTokenClaims }`), `/token`,
 * `/profile`, and an error handler that answers JSON.
 */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const app = express()
  const store = options.store ?? new session.MemoryStore()
  let url = ''
  let client: Promise<Client> | undefined
  const getClient = () =>
    (client ??= createClient({
      issuer: options.as.issuer,
      clientId: options.clientId ?? localClients.webBasic.clientId,
      clientSecret: options.clientSecret ?? localClients.webBasic.clientSecret,
      redirectUri: `${url}/callback`,
      postLogoutRedirectUri: `${url}/`,
      scope: options.scope ?? 'openid profile email offline_access',
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    }))
  app.use(
    session({
      secret: SESSION_SECRET,
      resave: false,
      saveUninitialized: false,
      store,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  )
  options.before?.(app)
  app.use(auth({ client: getClient, secret: TOKEN_SECRET, ...options.auth }))
  app.get('/', (_req, res) => {
    res.type('text').send('home')
  })
  app.get('/me', (req, res) => {
    if (!authOf(req)?.isAuthenticated) {
      res.status(401).json({ error: 'unauthorized' })
      return
    }
    const a = authOf(req)
    res.json({ sub: a.user?.sub, claims: a.user, idTokenClaims: a.idTokenClaims })
  })
  app.get('/token', requiresAuth(), async (req, res, next) => {
    try {
      res.json({
        access_token: await authOf(req).getAccessToken(),
        exp: authOf(req).accessTokenExpiresAt,
      })
    } catch (err) {
      next(err)
    }
  })
  app.get('/profile', requiresAuth(), (req, res) => {
    res.type('text').send(`profile of ${authOf(req)?.user?.sub}`)
  })
  options.routes?.(app)
  app.use(
    (
      err: Error & { status?: number; code?: string },
      _req: Request,
      res: ExpressResponse,
      _next: NextFunction,
    ) => {
      res.status(err.status ?? 500).json({ code: err.code, message: err.message })
    },
  )
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  url = `http://${options.publicHost ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`
  return {
    url,
    app,
    store,
    client: getClient,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A browser-like agent for one app: cookies kept, redirects not followed. */
export class Agent {
  readonly jar = new CookieJar()
  /** The AS-side jar (single sign-on across logins of this agent). */
  readonly asJar = new CookieJar()

  constructor(public base: string) {}

  async request(
    path: string,
    init: {
      method?: string
      accept?: string
      body?: URLSearchParams
      headers?: Record<string, string>
      /** Send the request to another instance of the app (same cookies). */
      via?: string
    } = {},
  ): Promise<Response & { location: string | null }> {
    const url = new URL(path, init.via ?? this.base)
    const own = new URL(path, this.base)
    const headers = new Headers({ accept: init.accept ?? 'text/html', ...init.headers })
    const cookie = this.jar.header(own)
    if (cookie !== undefined) headers.set('cookie', cookie)
    if (init.body !== undefined) headers.set('content-type', 'application/x-www-form-urlencoded')
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.body !== undefined ? { body: init.body.toString() } : {}),
    })
    this.jar.store(own, response.headers)
    return Object.assign(response, { location: response.headers.get('location') })
  }

  /** The session cookie value (the signed session id). */
  sessionCookie(): string | undefined {
    return this.jar.header(new URL(this.base))?.match(/connect\.sid=([^;]+)/)?.[1]
  }

  /** Starts a login; returns the AS authorization URL. */
  async startLogin(returnTo?: string): Promise<URL> {
    const res = await this.request(
      returnTo === undefined ? '/login' : `/login?returnTo=${encodeURIComponent(returnTo)}`,
    )
    await res.body?.cancel()
    if (res.status !== 302 || res.location === null) throw new Error(`login answered ${res.status}`)
    return new URL(res.location)
  }

  /** Signs in at the AS and delivers the authorization response to the app's callback. */
  async finishLogin(authorizationUrl: URL, consent: 'allow' | 'deny' = 'allow') {
    const response = await completeLogin(authorizationUrl, { cookieJar: this.asJar, consent })
    if (response.method === 'POST') {
      return this.request(response.url.pathname, { method: 'POST', body: response.body })
    }
    return this.request(`${response.url.pathname}${response.url.search}`)
  }

  /** A complete login; returns the callback response. */
  async login(returnTo?: string) {
    return this.finishLogin(await this.startLogin(returnTo))
  }

  async json(path: string, via?: string): Promise<{ status: number; body: any }> {
    const res = await this.request(path, {
      accept: 'application/json',
      ...(via !== undefined ? { via } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits for the start of the next second. Token expiry is in whole seconds: with 2 s tokens, what
 * follows (a refresh and the checks after it) must fall in one second to be deterministic.
 */
export async function atSecondStart(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 10)
}
