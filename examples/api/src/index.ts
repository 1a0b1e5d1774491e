// An API protected by @codegrant/resource-server: the public contract is in the repository's
// examples README (env variables and routes). This file is the only place that reads process.env.
import express, { type NextFunction, type Request, type Response } from 'express'
import { createVerifier, type VerifierOptions } from '@codegrant/resource-server'
import { authErrorHandler, requireAuth, requireScopes } from '@codegrant/resource-server/express'

interface Config {
  port: number
  issuer: string
  audience: string
  introspection: VerifierOptions['introspection']
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
  return { port, issuer, audience: audience.trim(), introspection }
}

const config = readConfig(process.env)

// Nothing is fetched here: discovery and keys load on the first request, and an authorization
// server that is down at start only makes requests answer 503 until it is back.
const verifier = createVerifier({
  issuer: config.issuer,
  audience: config.audience,
  introspection: config.introspection,
  logger: { warn: (message) => console.warn(`examples/api: ${message}`) },
})

const app = express()
app.disable('x-powered-by')
app.set('etag', false)

const auth = requireAuth({ verifier })

app.get('/api/public', (_req, res) => {
  res.json({ message: 'Public: no token needed.' })
})

app.get('/api/private', auth, (req, res) => {
  const info = req.auth!
  res.json({
    sub: info.sub ?? null,
    scope: info.scopes.join(' '),
    client_id: info.clientId ?? null,
    token_type: info.tokenType,
    token_format: info.format,
    expires_at: info.expiresAt ?? null,
  })
})

app.get('/api/messages', auth, requireScopes('read:messages'), (req, res) => {
  res.json({
    sub: req.auth!.sub ?? null,
    messages: [
      { id: 1, text: 'Hello from the protected API.' },
      { id: 2, text: 'This needed the read:messages scope.' },
    ],
  })
})

app.use((_req: Request, res: Response) => {
  res.status(404).json({ error: 'not_found' })
})
app.use(authErrorHandler())
app.use((_err: unknown, _req: Request, res: Response, next: NextFunction) => {
  if (res.headersSent) {
    next(_err)
    return
  }
  res.status(500).json({ error: 'server_error' })
})

const server = app.listen(config.port, () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  console.log(`examples/api listening on http://localhost:${port}`)
})
server.on('error', (err: NodeJS.ErrnoException) => {
  fail(`PORT ${config.port} cannot be used (${err.code ?? err.message})`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
  })
