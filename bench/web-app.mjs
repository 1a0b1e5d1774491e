// Issue 4: an authenticated request that reads the session's access token.
// @codegrant/express `requiresAuth()` + `req.auth.getAccessToken()` vs express-openid-connect
// `requiresAuth()` + `req.oidc.accessToken`.

import { startServer } from './lib/child.mjs'
import { isSelected } from './lib/config.mjs'
import { measure } from './lib/load.mjs'
import { loginThroughApp } from './lib/login.mjs'
import { runScenario, toMarkdown, writeResults } from './lib/report.mjs'

const ROUTE = '/api/token'
const SECRET = 'bench-session-secret-0123456789abcdef-not-a-real-secret'

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

export async function main() {
  /** @type {import('./lib/report.mjs').ScenarioResult[]} */
  const results = []
  if (!isSelected('web')) return results
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
    const result = await runScenario({
      id: 'web',
      title: 'Web app: authenticated request reading the access token',
      contenders: [contender('codegrant'), contender('peer')],
      targets: [{ of: 'codegrant', vs: 'peer', target: 1.2 }],
      note:
        'Ours: express-session 1.19 MemoryStore (resave false, saveUninitialized false). ' +
        'express-openid-connect: its default encrypted, rolling cookie session.',
    })
    results.push(result)
    process.stdout.write(`${toMarkdown(result)}\n`)
  } finally {
    await as.stop()
  }
  const file = writeResults('web-app', results)
  process.stderr.write(`  wrote ${file}\n`)
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
