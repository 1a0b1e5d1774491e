// The example Fastify web app: reads the environment, connects Redis when asked, starts listening.
import { RedisStore } from 'connect-redis'
import { createClient as createRedisClient } from 'redis'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createWebApp } from './app.js'
import { ConfigError, loadConfig, type WebAppConfig } from '@codegrant/example-web-app/config'

function fail(message: string): never {
  process.stderr.write(`fastify-web-app: ${message}\n`)
  process.exit(1)
}

async function connectRedis(url: string) {
  const client = createRedisClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3000,
      reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 2000),
    },
  })
  let down = false
  client.on('error', () => {
    if (!down)
      process.stderr.write(
        'fastify-web-app: Redis connection lost; retrying (requests answer 503 meanwhile)\n',
      )
    down = true
  })
  client.on('ready', () => {
    if (down) process.stderr.write('fastify-web-app: Redis connection restored\n')
    down = false
  })
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('timeout')), 5000).unref(),
  )
  try {
    await Promise.race([client.connect(), timeout])
  } catch {
    fail(`REDIS_URL: cannot connect to Redis at ${new URL(url).host}`)
  }
  return client
}

async function main(): Promise<void> {
  let config: WebAppConfig
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
  for (const warning of config.warnings) process.stderr.write(`fastify-web-app: ${warning}\n`)

  const redis = config.redisUrl === undefined ? undefined : await connectRedis(config.redisUrl)
  const log = (line: string) => process.stderr.write(`fastify-web-app: ${line}\n`)
  let baseUrl = config.baseUrl
  // Listening first (the port, hence BASE_URL's default, is known only then), answering 503
  // until the app is ready.
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const server = createServer((req, res) => {
    if (handle === undefined) {
      res.statusCode = 503
      res.end()
      return
    }
    handle(req, res)
  })
  server.on('error', (err: NodeJS.ErrnoException) => {
    fail(
      err.code === 'EADDRINUSE'
        ? `PORT ${config.port} is already in use`
        : `cannot listen: ${err.code ?? err.message}`,
    )
  })
  server.listen(config.port, () => {
    const port = (server.address() as AddressInfo).port
    baseUrl ??= `http://localhost:${port}`
    let fastifyHandler: typeof handle
    createWebApp(config, {
      baseUrl,
      serverFactory: (handler) => {
        fastifyHandler = handler
        return server
      },
      ...(redis !== undefined
        ? { store: new RedisStore({ client: redis, prefix: 'webapp:sess:' }), redis }
        : {}),
      log,
    }).then(
      () => {
        handle = fastifyHandler
        process.stdout.write(`fastify-web-app listening on ${baseUrl} (port ${port})\n`)
      },
      (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
    )
  })
  const stop = () => {
    server.close()
    server.closeAllConnections()
    redis?.destroy()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)))
