// An API protected by @codegrant/resource-server: the public contract is in the repository's
// examples README (env variables and routes). This file is the only place that reads process.env.
import { createServer } from 'node:http'
import express, { type NextFunction, type Request, type Response } from 'express'
import { createClient } from 'redis'
import {
  createRedisReplayStore,
  createVerifier,
  ResourceServerError,
  warmUp,
  type ReplayStore,
  type VerifierOptions,
} from '@codegrant/resource-server'
import {
  tokenErrorHandler,
  protectedResourceMetadata,
  requireToken,
} from '@codegrant/resource-server/express'

interface Config {
  port: number
  /** Without a trailing slash; undefined: `http://localhost:<the port listened on>`. */
  baseUrl: string | undefined
  issuer: string
  audience: string
  introspection: VerifierOptions['introspection']
  strictType: boolean
  redisUrl: string | undefined
}

/** Stops the app with one line that names the variable. */
function fail(message: string): never {
  console.error(`examples/api: ${message}`)
  process.exit(1)
}

// The contract's loopback hosts, exactly: plain http is accepted for these only.
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase())
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const rawPort = env.PORT ?? '4000'
  const port = Number(rawPort)
  if (!/^\d+$/.test(rawPort) || port > 65535)
    fail(`PORT must be a port number (0-65535), got ${JSON.stringify(rawPort)}`)

  const issuer = env.ISSUER_URL
  if (issuer === undefined || issuer === '') fail('ISSUER_URL is required (the issuer URL)')
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    fail('ISSUER_URL must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname)))
    fail('ISSUER_URL must use https (http is accepted only for localhost, 127.0.0.1 and ::1)')

  const audience = env.AUDIENCE
  if (audience === undefined || audience.trim() === '')
    fail("AUDIENCE is required (the API's audience, the access tokens' aud)")

  let baseUrl: string | undefined
  if (env.BASE_URL !== undefined && env.BASE_URL !== '') {
    let base: URL
    try {
      base = new URL(env.BASE_URL)
    } catch {
      fail('BASE_URL must be an absolute URL (e.g. https://api.example.com)')
    }
    if ((base.protocol !== 'https:' && base.protocol !== 'http:') || base.search || base.hash)
      fail('BASE_URL must be an http(s) URL without query or fragment')
    baseUrl = base.href.replace(/\/+$/, '')
  }

  const strict = env.STRICT_TOKEN_TYPE ?? 'true'
  if (strict !== 'true' && strict !== 'false')
    fail(`STRICT_TOKEN_TYPE must be true or false, got ${JSON.stringify(strict)}`)

  let redisUrl: string | undefined
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    let redis: URL | undefined
    try {
      redis = new URL(env.REDIS_URL)
    } catch {
      redis = undefined
    }
    if (redis === undefined || (redis.protocol !== 'redis:' && redis.protocol !== 'rediss:'))
      fail('REDIS_URL must be a redis:// or rediss:// URL')
    redisUrl = env.REDIS_URL
  }

  const clientId = env.INTROSPECTION_CLIENT_ID
  const clientSecret = env.INTROSPECTION_CLIENT_SECRET
  let introspection: Config['introspection']
  if (clientId !== undefined && clientId !== '') {
    if (clientSecret === undefined || clientSecret === '')
      fail('INTROSPECTION_CLIENT_SECRET is required when INTROSPECTION_CLIENT_ID is set')
    introspection = { clientId, clientSecret }
  } else if (clientSecret !== undefined && clientSecret !== '') {
    fail('INTROSPECTION_CLIENT_ID is required when INTROSPECTION_CLIENT_SECRET is set')
  }
  return {
    port,
    baseUrl,
    issuer,
    audience: audience.trim(),
    introspection,
    strictType: strict === 'true',
    redisUrl,
  }
}

const config = readConfig(process.env)

/**
 * The DPoP replay store shared by every instance, when REDIS_URL is set. Commands fail at once
 * while Redis is unreachable (no offline queue), so DPoP requests get 503 and recover with it.
 */
function redisReplayStore(url: string): ReplayStore {
  const client = createClient({ url, disableOfflineQueue: true })
  let healthy = true
  client.on('error', (err: Error) => {
    if (!healthy) return
    healthy = false
    console.warn(`examples/api: Redis unavailable (${err.message}); DPoP requests answer 503`)
  })
  client.on('ready', () => {
    if (!healthy) console.warn('examples/api: Redis is back')
    healthy = true
  })
  client.connect().catch(() => undefined)
  return createRedisReplayStore(client)
}

const app = express()
app.disable('x-powered-by')
app.set('etag', false)
const server = createServer(app)

/** Routes and verifier, once the port (and so the default BASE_URL) is known. */
async function setUp(port: number): Promise<void> {
  const baseUrl = config.baseUrl ?? `http://localhost:${port}`
  // Warnings of the start-up check are held until it is known whether the app stops (one line).
  let held: string[] | undefined = []
  const warn = (message: string) => {
    if (held === undefined) console.warn(`examples/api: ${message}`)
    else held.push(message)
  }
  // Nothing is fetched by the verifier until the first request, except the start-up check below:
  // an authorization server that is down at start only makes requests answer 503 until it is back.
  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    introspection: config.introspection,
    // RFC 9068 §4: JWT access tokens have `typ: at+jwt` (STRICT_TOKEN_TYPE=false for providers
    // that send `typ: JWT` or none).
    strictType: config.strictType,
    dpop:
      config.redisUrl === undefined
        ? undefined
        : { replayStore: redisReplayStore(config.redisUrl) },
    resourceMetadata: {
      resource: config.audience,
      url: `${baseUrl}/.well-known/oauth-protected-resource`,
      authorizationServers: [config.issuer],
    },
    logger: { warn },
  })

  // A discovery document naming another issuer is a configuration error: stop now, naming it.
  // Any other failure (the AS is down) is not: requests answer 503 until it is back.
  try {
    await warmUp(verifier)
  } catch (err) {
    if (err instanceof ResourceServerError && err.code === 'ERR_ISSUER_MISMATCH')
      fail(`ISSUER_URL: ${err.cause instanceof Error ? err.cause.message : 'issuer mismatch'}`)
  }
  const warnings = held
  held = undefined
  for (const message of warnings) warn(message)

  const auth = requireToken({ verifier })
  // The route guard registers its scope in the metadata's scopes_supported.
  const readMessages = requireToken({ verifier, scopes: ['read:messages'] })

  app.use(protectedResourceMetadata(verifier))

  app.get('/api/public', (_req, res) => {
    res.json({ message: 'Public: no token needed.' })
  })

  app.get('/api/private', auth, (req, res) => {
    const info = req.accessToken!
    res.json({
      sub: info.sub ?? null,
      scope: info.scopes.join(' '),
      client_id: info.clientId ?? null,
      token_type: info.tokenType,
      token_format: info.format,
      expires_at: info.expiresAt ?? null,
    })
  })

  app.get('/api/messages', readMessages, (req, res) => {
    res.json({
      sub: req.accessToken!.sub ?? null,
      messages: [
        { id: 1, text: 'Hello from the protected API.' },
        { id: 2, text: 'This needed the read:messages scope.' },
      ],
    })
  })

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found' })
  })
  app.use(tokenErrorHandler())
  app.use((_err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(_err)
      return
    }
    res.status(500).json({ error: 'server_error' })
  })
}

server.listen(config.port, () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  setUp(port).then(
    () => console.log(`examples/api listening on http://localhost:${port}`),
    (err: unknown) => fail(`start-up failed (${err instanceof Error ? err.message : String(err)})`),
  )
})
server.on('error', (err: NodeJS.ErrnoException) => {
  fail(`PORT ${config.port} cannot be used (${err.code ?? err.message})`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    process.exit(0)
  })
