// Shared helpers for the @codegrant/express integration tests: an Express app with
// express-session and auth() on 127.0.0.1:0 (the browser-like agent is in support/agent.ts).
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createClient, type Client } from '@codegrant/core'
import { auth, requiresAuth, type AuthOptions, type RequestAuth } from '@codegrant/express'
import { localClients, type LocalAs } from '@codegrant/local-as'
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
  /** Push every authorization request (PAR, RFC 9126): `createClient`'s `usePar`. */
  usePar?: boolean
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
      ...(options.usePar !== undefined ? { usePar: options.usePar } : {}),
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

export { Agent, atSecondStart, sleep } from './support/agent.js'
