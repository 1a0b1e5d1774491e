// Issue 4: an authenticated request that reads the session's access token.
// @codegrant/express `requiresAuth()` + `req.auth.getAccessToken()` vs express-openid-connect
// `requiresAuth()` + `req.oidc.accessToken`.

import { startServer } from './lib/child.mjs'
import { isSelected } from './lib/config.mjs'
import { measure } from './lib/load.mjs'
import { loginThroughApp } from './lib/login.mjs'
import { countCommands, startRedis } from './lib/redis.mjs'
import { runScenario, toMarkdown, writeResults } from './lib/report.mjs'

const ROUTE = '/api/token'
const SECRET = 'bench-session-secret-0123456789abcdef-not-a-real-secret'

const ME_LABELS = {
  codegrant: 'examples/web-app GET /me',
  peer: 'express-openid-connect GET /me',
  base: 'examples/web-app GET /me (baseline build)',
}
// Sequential requests whose Redis commands are counted (MONITOR) in the Redis scenario.
const COUNTED_REQUESTS = 50

const LABELS = {
  codegrant: '@codegrant/express requiresAuth + getAccessToken',
  peer: 'express-openid-connect requiresAuth + accessToken',
}

/**
 * Signs the demo user in at the local AS with its `completeLogin` helper.
 * @param {string} authorizationUrl
 */
async function authenticate(authorizationUrl) {
  const { completeLogin } = await import('@codegrant/local-as')
  return completeLogin(authorizationUrl)
}

/**
 * Issue 9: an authenticated `GET /me` on the real examples/web-app against an
 * express-openid-connect app, with each one's default session storage, then both on Redis
 * (connect-redis). In the Redis scenario the commands per request are counted too.
 * @param {string} issuer
 * @param {{ clientId: string, clientSecret: string }} client
 */
async function meScenarios(issuer, client) {
  /** @type {import('./lib/report.mjs').ScenarioResult[]} */
  const results = []
  for (const storage of /** @type {const} */ (['memory', 'redis'])) {
    const id = `web-me-${storage}`
    if (!isSelected(id)) continue
    const redis = storage === 'redis' ? await startRedis() : undefined
    /** @type {Record<string, { perRequest: number, commands: Record<string, number> }>} */
    const counts = {}
    try {
      /** @param {'codegrant' | 'peer'} name @returns {import('./lib/report.mjs').Contender} */
      const contender = (name) => ({
        name,
        label: ME_LABELS[name],
        async measureOnce() {
          const app = await startServer(
            'web-me',
            {
              contender: name,
              issuer,
              clientId: client.clientId,
              clientSecret: client.clientSecret,
              secret: SECRET,
              ...(redis !== undefined ? { redisUrl: redis.url } : {}),
            },
            { label: `${id}-${name}` },
          )
          try {
            const cookie = await loginThroughApp({
              appUrl: app.url,
              probePath: '/me',
              authenticate,
            })
            if (redis !== undefined && counts[name] === undefined) {
              counts[name] = await countCommands(
                redis.port,
                async () => {
                  const res = await fetch(`${app.url}/me`, { headers: { cookie } })
                  if (res.status !== 200) throw new Error(`GET /me answered ${res.status}`)
                  await res.arrayBuffer()
                },
                COUNTED_REQUESTS,
              )
            }
            return await measure({ url: `${app.url}/me`, headers: { cookie }, serverPid: app.pid })
          } finally {
            await app.stop()
          }
        },
      })
      const result = await runScenario({
        id,
        title:
          storage === 'memory'
            ? 'Web app: authenticated GET /me, default session storage'
            : 'Web app: authenticated GET /me, both on Redis (connect-redis)',
        contenders: [
          contender('codegrant'),
          contender('peer'),
          ...(process.env.BENCH_WEB_ME_BASE ? [contender(/** @type {any} */ ('base'))] : []),
        ],
        targets: [
          { of: 'codegrant', vs: 'peer', target: 1.3 },
          ...(process.env.BENCH_WEB_ME_BASE ? [{ of: 'codegrant', vs: 'base', target: 1 }] : []),
        ],
        note:
          storage === 'memory'
            ? 'Ours: the example app as `pnpm --dir examples/web-app start` builds it (`sessionMiddleware()` of @codegrant/express over the express-session MemoryStore, 24 h cookie renewed at most once a minute). ' +
              'express-openid-connect: its default encrypted, rolling cookie session.'
            : 'Both: connect-redis 9 on node-redis 5, one local redis-server. Ours: the example app with REDIS_URL (Redis lock and session index too). ' +
              'express-openid-connect: `session.store`.',
      })
      if (redis !== undefined) {
        ;/** @type {any} */ (result).redisCommandsPerRequest = counts
        const describe = (/** @type {string} */ name) => {
          const c = counts[name]
          if (c === undefined) return `${name}: not counted`
          const parts = Object.entries(c.commands).map(([cmd, n]) => `${n.toFixed(2)} ${cmd}`)
          return `${ME_LABELS[/** @type {'codegrant' | 'peer'} */ (name)]}: ${c.perRequest.toFixed(2)} (${parts.join(', ')})`
        }
        result.note = `${result.note} Redis commands per authenticated request (MONITOR, ${COUNTED_REQUESTS} sequential requests): ${describe('codegrant')}; ${describe('peer')}.`
      }
      results.push(result)
      process.stdout.write(`${toMarkdown(result)}\n`)
    } finally {
      await redis?.stop()
    }
  }
  return results
}

export async function main() {
  /** @type {import('./lib/report.mjs').ScenarioResult[]} */
  const results = []
  const ids = ['web-token', 'web-me-memory', 'web-me-redis']
  if (!ids.some(isSelected)) return results
  const as = await startServer('local-as', {}, { label: 'local-as' })
  try {
    const { localClients } = await import('@codegrant/local-as')
    const client = localClients.webBasic
    const issuer = typeof as.info.issuer === 'string' ? as.info.issuer : as.url
    /** @param {'codegrant' | 'peer'} name @returns {import('./lib/report.mjs').Contender} */
    const contender = (name) => ({
      name,
      label: LABELS[name],
      async measureOnce() {
        const app = await startServer(
          'web-app',
          {
            contender: name,
            issuer,
            clientId: client.clientId,
            clientSecret: client.clientSecret,
            secret: SECRET,
          },
          { label: `web-${name}` },
        )
        try {
          const cookie = await loginThroughApp({ appUrl: app.url, probePath: ROUTE, authenticate })
          return await measure({ url: `${app.url}${ROUTE}`, headers: { cookie } })
        } finally {
          await app.stop()
        }
      },
    })
    if (isSelected('web-token')) {
      const result = await runScenario({
        id: 'web-token',
        title: 'Web app: authenticated request reading the access token',
        contenders: [contender('codegrant'), contender('peer')],
        targets: [{ of: 'codegrant', vs: 'peer', target: 1.2 }],
        note:
          'Ours: express-session 1.19 MemoryStore (resave false, saveUninitialized false). ' +
          'express-openid-connect: its default encrypted, rolling cookie session.',
      })
      results.push(result)
      process.stdout.write(`${toMarkdown(result)}\n`)
    }
    results.push(...(await meScenarios(issuer, client)))
  } finally {
    await as.stop()
  }
  const file = writeResults('web-app', results)
  process.stderr.write(`  wrote ${file}\n`)
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
