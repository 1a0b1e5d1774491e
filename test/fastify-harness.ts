// A Fastify app with @fastify/cookie, @fastify/session and fastifyAuth on 127.0.0.1:0, for the
// @codegrant/fastify integration tests against the local AS (the twin of express-harness.ts).
import { createClient, type Client } from '@codegrant/core'
import { fastifyAuth, requiresAuth, type FastifyAuthOptions } from '@codegrant/fastify'
import { localClients, type LocalAs } from '@codegrant/local-as'
import fastifyCookie from '@fastify/cookie'
import fastifySession, { type SessionStore } from '@fastify/session'
import Fastify, { type FastifyInstance } from 'fastify'

export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef-0123456789'
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef-0123456789'
/** @fastify/session's default cookie name, for `new Agent(url, COOKIE_NAME)`. */
export const COOKIE_NAME = 'sessionId'

export interface FastifyTestApp {
  readonly url: string
  readonly app: FastifyInstance
  client(): Promise<Client>
  close(): Promise<void>
}

export interface FastifyTestAppOptions {
  as: LocalAs
  store?: SessionStore
  auth?: Partial<FastifyAuthOptions>
  /** Routes added after fastifyAuth and the default ones. */
  routes?: (app: FastifyInstance) => void
  scope?: string
  /** Another registered client (default: web-basic). */
  clientId?: string
  clientSecret?: string
}

/**
 * Starts an app: session, fastifyAuth, `/` (`home`), `/me` (`{ sub, claims: user, idTokenClaims }`),
 * `/token`, `/profile`, errors as JSON `{ code, message }`: the routes of express-harness.ts.
 */
export async function startFastifyTestApp(options: FastifyTestAppOptions): Promise<FastifyTestApp> {
  const app = Fastify()
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
    }))
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    saveUninitialized: false,
    rolling: false,
    ...(options.store !== undefined ? { store: options.store } : {}),
    cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
  })
  await app.register(fastifyAuth, { client: getClient, secret: TOKEN_SECRET, ...options.auth })
  app.get('/', async (_request, reply) => reply.type('text/plain').send('home'))
  app.get('/me', async (request, reply) => {
    if (!request.auth.isAuthenticated) return reply.code(401).send({ error: 'unauthorized' })
    const auth = request.auth
    return { sub: auth.user?.sub, claims: auth.user, idTokenClaims: auth.idTokenClaims }
  })
  app.get('/token', { onRequest: requiresAuth() }, async (request) => ({
    access_token: await request.auth.getAccessToken(),
    exp: request.auth.accessTokenExpiresAt,
  }))
  app.post('/token/refresh', { onRequest: requiresAuth() }, async (request) => ({
    access_token: await request.auth.getAccessToken({ forceRefresh: true }),
  }))
  app.get(
    '/profile',
    { onRequest: requiresAuth() },
    async (request) => `profile of ${request.auth.user?.sub}`,
  )
  options.routes?.(app)
  app.setErrorHandler(
    async (err: Error & { statusCode?: number; code?: string }, _request, reply) =>
      reply.code(err.statusCode ?? 500).send({ code: err.code, message: err.message }),
  )
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  url = address.replace('localhost', '127.0.0.1')
  return { url, app, client: getClient, close: () => app.close() }
}
