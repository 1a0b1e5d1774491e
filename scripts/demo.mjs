#!/usr/bin/env node
// `pnpm demo`: the whole codegrant stack on this machine, offline.
//
// Starts the local authorization server (tools/local-as, in this process), then the example API
// and the example web app as child processes, waits until each one says it is listening, and
// prints where to go. Ctrl-C stops everything. Run `pnpm install` first (it builds dist/).
//
// Environment (all optional):
//   AS_PORT (3001)  API_PORT (4000)  WEB_PORT (3000)
//   ACCESS_TOKEN_TTL  seconds an API access token lives (300), short to watch refreshes happen
//   SESSION_SECRET    passed to the web app (a random one per run otherwise)
//   REDIS_URL         passed to the web app (sessions in Redis)
// Every other variable of the environment is passed to the examples unchanged.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'

const audience = 'urn:codegrant:api'
const scope = 'openid profile email offline_access read:messages'
const startTimeoutMs = 30_000

function port(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    fail(`${name} must be a port number from 1 to 65535`)
  }
  return value
}

function positive(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 1) fail(`${name} must be a positive integer`)
  return value
}

function fail(message) {
  console.error(`demo: ${message}`)
  process.exit(1)
}

const asPort = port('AS_PORT', 3001)
const apiPort = port('API_PORT', 4000)
const webPort = port('WEB_PORT', 3000)
const accessTokenTtl = positive('ACCESS_TOKEN_TTL', 300)
if (new Set([asPort, apiPort, webPort]).size !== 3)
  fail('AS_PORT, API_PORT and WEB_PORT must differ')

const localAsEntry = new URL('../tools/local-as/dist/index.js', import.meta.url)
const entries = {
  api: new URL('../examples/api/dist/index.js', import.meta.url),
  web: new URL('../examples/web-app/dist/index.js', import.meta.url),
}
for (const entry of [localAsEntry, entries.api, entries.web]) {
  if (!existsSync(entry)) {
    fail(`${fileURLToPath(entry)} is missing: run \`pnpm install\` (or \`pnpm build\`) first`)
  }
}

const { startLocalAs, localClients, demoUser } = await import(
  pathToFileURL(fileURLToPath(localAsEntry)).href
)

const issuer = `http://localhost:${asPort}`
const apiUrl = `http://localhost:${apiPort}`
const webUrl = `http://localhost:${webPort}`

/** @type {import('node:child_process').ChildProcess[]} */
const children = []
let as
let stopping = false

async function stop(code) {
  if (stopping) return
  stopping = true
  await Promise.all(children.map((child) => terminate(child)))
  await as?.close()
  process.exit(code)
}

function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (!stopping) console.log(`\ndemo: ${signal} received, stopping...`)
    void stop(0)
  })
}

/** Starts one example with `node dist/index.js` and resolves once it prints `listening`. */
function startExample(name, dir, env) {
  const child = spawn(process.execPath, ['dist/index.js'], {
    cwd: fileURLToPath(new URL(`../examples/${dir}/`, import.meta.url)),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let ready = false
    const timer = setTimeout(() => {
      if (!ready)
        reject(new Error(`${name} did not print "listening" within ${startTimeoutMs / 1000}s`))
    }, startTimeoutMs)
    const onLine = (stream) => (line) => {
      stream.write(`[${name}] ${line}\n`)
      if (!ready && /listening/i.test(line)) {
        ready = true
        clearTimeout(timer)
        resolve(child)
      }
    }
    createInterface({ input: child.stdout }).on('line', onLine(process.stdout))
    createInterface({ input: child.stderr }).on('line', onLine(process.stderr))
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`${name} could not start: ${err.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!ready) reject(new Error(`${name} exited before listening (${signal ?? `code ${code}`})`))
      else if (!stopping) {
        // A terminal Ctrl-C reaches the whole process group: the child may see it first.
        const interrupted = signal === 'SIGINT' || signal === 'SIGTERM' || code === 130
        if (!interrupted) {
          console.error(
            `demo: ${name} stopped unexpectedly (${signal ?? `code ${code}`}), stopping`,
          )
        }
        void stop(interrupted ? 0 : 1)
      }
    })
  })
}

function logEvents(localAs) {
  const { provider } = localAs
  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params?.grant_type
    console.log(`[as] token issued: grant_type=${grantType} client=${ctx.oidc.client?.clientId}`)
  })
  provider.on('grant.error', (ctx, err) => {
    const grantType = ctx.oidc.params?.grant_type
    console.log(`[as] token refused: grant_type=${grantType} error=${err.error}`)
  })
  provider.on('authorization.success', (ctx) => {
    console.log(`[as] authorization response sent to client=${ctx.oidc.client?.clientId}`)
  })
  provider.on('end_session.success', (ctx) => {
    console.log(`[as] signed out (client=${ctx.oidc.client?.clientId ?? 'none'})`)
  })
}

try {
  as = await startLocalAs({
    port: asPort,
    host: '127.0.0.1',
    issuer,
    ttl: { AccessToken: accessTokenTtl },
    resourceServers: {
      [audience]: { scope: 'read:messages write:messages', accessTokenTTL: accessTokenTtl },
    },
    logger: {
      warn() {},
      error: (message, err) => console.error(`[as] ${message}: ${err?.message ?? ''}`),
    },
  })
  logEvents(as)
  console.log(`[as] authorization server listening on ${issuer}`)

  await startExample('api', 'api', {
    PORT: String(apiPort),
    // Set, not inherited: a parent's BASE_URL (Vitest sets BASE_URL=/) is the web app's, not ours.
    BASE_URL: apiUrl,
    ISSUER_URL: issuer,
    AUDIENCE: audience,
    INTROSPECTION_CLIENT_ID: localClients.apiIntrospector.clientId,
    INTROSPECTION_CLIENT_SECRET: localClients.apiIntrospector.clientSecret,
  })
  await startExample('web', 'web-app', {
    PORT: String(webPort),
    BASE_URL: webUrl,
    ISSUER_URL: issuer,
    CLIENT_ID: localClients.webBasic.clientId,
    CLIENT_SECRET: localClients.webBasic.clientSecret,
    CLIENT_AUTH_METHOD: 'client_secret_basic',
    API_URL: apiUrl,
    API_AUDIENCE: audience,
    SCOPE: scope,
    SESSION_SECRET: process.env.SESSION_SECRET || randomBytes(32).toString('base64url'),
  })
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`)
  await stop(1)
}

console.log(`
codegrant demo is ready (Ctrl-C stops it)

  Web app               ${webUrl}
  API                   ${apiUrl}/api/public
  Authorization server  ${issuer}/.well-known/openid-configuration

  Sign in as "${demoUser.username}" with password "${demoUser.password}".
  Access tokens live ${accessTokenTtl}s; set ACCESS_TOKEN_TTL=20 to watch refreshes.

  To point your own app at this AS: ISSUER_URL=${issuer}
    CLIENT_ID=${localClients.webBasic.clientId} CLIENT_SECRET=${localClients.webBasic.clientSecret}
    (client_secret_basic; redirect URI http://localhost:<any port>/callback, or 127.0.0.1;
    post-logout http://localhost:<any port>/)
`)
