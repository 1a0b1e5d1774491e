// Issue 11: an authenticated `GET /me` on examples/fastify-web-app (@codegrant/fastify on
// @fastify/session) against a bare Fastify route on the same @fastify/session, same run.

import { startServer } from './lib/child.mjs'
import { isSelected } from './lib/config.mjs'
import { measure } from './lib/load.mjs'
import { loginThroughApp } from './lib/login.mjs'
import { runScenario, toMarkdown, writeResults } from './lib/report.mjs'

const ID = 'web-fastify-me'
const SECRET = 'bench-session-secret-0123456789abcdef-not-a-real-secret'
const LABELS = {
  codegrant: 'examples/fastify-web-app GET /me',
  bare: 'bare Fastify + @fastify/session GET /me',
  'bare-sized': 'bare Fastify + @fastify/session GET /me, a session of the same size',
}

export async function main() {
  /** @type {import('./lib/report.mjs').ScenarioResult[]} */
  const results = []
  if (!isSelected(ID)) return results
  const as = await startServer('local-as', {}, { label: 'local-as' })
  try {
    const { completeLogin, localClients } = await import('@codegrant/local-as')
    const client = localClients.webBasic
    const issuer = typeof as.info.issuer === 'string' ? as.info.issuer : as.url
    /** @param {'codegrant' | 'bare' | 'bare-sized'} name @returns {import('./lib/report.mjs').Contender} */
    const contender = (name) => ({
      name,
      label: LABELS[name],
      async measureOnce() {
        const app = await startServer(
          'fastify-web-me',
          {
            contender: name,
            issuer,
            clientId: client.clientId,
            clientSecret: client.clientSecret,
            secret: SECRET,
          },
          { label: `${ID}-${name}` },
        )
        try {
          const cookie = await loginThroughApp({
            appUrl: app.url,
            probePath: '/me',
            // Ours: the real login at the local AS; bare: its /login goes straight to /callback.
            authenticate:
              name === 'codegrant'
                ? (url) => completeLogin(url)
                : async (url) => ({ method: 'GET', url: new URL(url) }),
          })
          return await measure({ url: `${app.url}/me`, headers: { cookie }, serverPid: app.pid })
        } finally {
          await app.stop()
        }
      },
    })
    const result = await runScenario({
      id: ID,
      title: 'Fastify web app: authenticated GET /me, @fastify/session MemoryStore',
      contenders: [contender('codegrant'), contender('bare'), contender('bare-sized')],
      targets: [
        { of: 'codegrant', vs: 'bare', target: 0.85 },
        { of: 'codegrant', vs: 'bare-sized', target: 0.85 },
      ],
      note:
        'Ours: examples/fastify-web-app as `pnpm --dir examples/fastify-web-app start` builds it (fastifyAuth, sealed tokens, security headers, renewal hook). ' +
        'Bare: the same @fastify/session settings, a session holding the same claims in the clear, no plugin; bare-sized: the same plus 2,100 characters, the size of our sealed section. ' +
        '@fastify/oauth2 is not a contender: it acts on /login and /callback only and keeps no session, so on GET /me an app built with it runs exactly the bare route.',
    })
    results.push(result)
    process.stdout.write(`${toMarkdown(result)}\n`)
  } finally {
    await as.stop()
  }
  const file = writeResults('web-app-fastify', results)
  process.stderr.write(`  wrote ${file}\n`)
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
