// A Fastify app with @fastify/cookie, @fastify/secure-session (sessions in an encrypted cookie)
// and fastifyAuth on 127.0.0.1:0, for the cookie-session tests against the local AS (the
// secure-session twin of fastify-harness.ts: the same routes).
import { randomBytes } from 'node:crypto'
import { createClient, type Client } from '@codegrant/core'
import { fastifyAuth, requiresAuth, type FastifyAuthOptions } from '@codegrant/fastify'
import { localClients, type LocalAs } from '@codegrant/local-as'
import fastifyCookie from '@fastify/cookie'
import fastifySecureSession from '@fastify/secure-session'
import Fastify, { type FastifyInstance } from 'fastify'

export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef-0123456789'
/** @fastify/secure-session's default cookie name, for `new Agent(url, SECURE_COOKIE_NAME)`. */
export const SECURE_COOKIE_NAME = 'session'

/** A fresh @fastify/secure-session key (32 bytes). */
export const newKey = (): Buffer => randomBytes(32)

export interface SecureTestApp {
  readonly url: string
  readonly app: FastifyInstance
  client(): Promise<Client>
  close(): Promise<void>
}

export interface SecureTestAppOptions {
  as: LocalAs
  /** @fastify/secure-session's key(s): the first encrypts, all decrypt. @default a fresh key */
  key?: Buffer | Buffer[]
  /** fastifyAuth's options over the defaults (back-channel logout off unless given). */
  auth?: Partial<FastifyAuthOptions>
  routes?: (app: FastifyInstance) => void
  scope?: string
  clientId?: string
  clientSecret?: string
}

/**
 * Starts an app: secure session, fastifyAuth, `/` (`home`), `/me`, `/token`, `/token/refresh`,
 * `/profile`, errors as JSON `{ code, message }`: the routes of fastify-harness.ts.
 */
export async function startSecureTestApp(options: SecureTestAppOptions): Promise<SecureTestApp> {
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
  await app.register(fastifySecureSession, {
    key: options.key ?? newKey(),
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false },
  })
  await app.register(fastifyAuth, {
    client: getClient,
    secret: TOKEN_SECRET,
    routes: { backchannelLogout: false },
    ...options.auth,
  })
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
