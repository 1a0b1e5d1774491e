// Spawns examples/web-app (Express) or examples/fastify-web-app from its tsc output (dist) as a
// child process, for the contract, browser and Redis tests, which run against both (one suite,
// `describe.each(WEB_APPS)`). Build first: `npx tsc -b` (pnpm test does).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  baseEnv,
  collectOutput,
  runToExit,
  spawnNode,
  stopChild,
  waitForOutput,
} from './support/child.js'
import { freePort } from './support/ports.js'

export const WEB_APP_ENTRY = fileURLToPath(
  new URL('../examples/web-app/dist/index.js', import.meta.url),
)

/** One example web app: the same env and routes (CONTRACT.md), another framework. */
export interface WebAppKind {
  /** The example's directory under examples/. */
  readonly name: 'web-app' | 'fastify-web-app'
  /** Its built entry point. */
  readonly entry: string
  /** Its session cookie's name on http. */
  readonly cookieName: string
  /** The session id (the store key) in a session cookie value. */
  sessionIdOf(cookieValue: string): string
}

/** examples/web-app: Express, express-session's `s:<id>.<signature>` cookie. */
export const EXPRESS_WEB_APP: WebAppKind = {
  name: 'web-app',
  entry: WEB_APP_ENTRY,
  cookieName: 'connect.sid',
  sessionIdOf: (value) => decodeURIComponent(value).slice(2).split('.')[0]!,
}

/** examples/fastify-web-app: Fastify, @fastify/session's `<id>.<signature>` cookie. */
export const FASTIFY_WEB_APP: WebAppKind = {
  name: 'fastify-web-app',
  entry: fileURLToPath(new URL('../examples/fastify-web-app/dist/index.js', import.meta.url)),
  cookieName: 'sessionId',
  sessionIdOf: (value) => decodeURIComponent(value).split('.')[0]!,
}

/** Both examples, for `describe.each(WEB_APPS)('$name', (kind) => ...)`. */
export const WEB_APPS: readonly WebAppKind[] = [EXPRESS_WEB_APP, FASTIFY_WEB_APP]

export interface SpawnedApp {
  readonly url: string
  readonly port: number
  readonly output: () => string
  stop(): Promise<void>
}

function assertBuilt(kind: WebAppKind): void {
  if (!existsSync(kind.entry)) throw new Error(`${kind.entry} is missing: run npx tsc -b first`)
}

/** Runs the web app until it exits; for start-up error tests. */
export async function runWebAppExpectingExit(
  env: Record<string, string>,
  kind: WebAppKind = EXPRESS_WEB_APP,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt(kind)
  return runToExit(kind.entry, { ...baseEnv(), ...env })
}

/** Starts the web app and waits for its `listening` line. */
export async function startWebApp(
  env: Record<string, string>,
  kind: WebAppKind = EXPRESS_WEB_APP,
): Promise<SpawnedApp> {
  assertBuilt(kind)
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort()
  const child = spawnNode(kind.entry, { ...baseEnv(), PORT: String(port), ...env })
  const output = collectOutput(child)
  try {
    await waitForOutput(child, /listening/)
  } catch (err) {
    await stopChild(child)
    throw err
  }
  return {
    url: env.BASE_URL ?? `http://localhost:${port}`,
    port,
    output,
    stop: () => stopChild(child),
  }
}
