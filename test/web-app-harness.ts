// Spawns examples/web-app from its tsc output (dist) as a child process, for contract and
// browser tests. Build first: `npx tsc -b` (pnpm test does).
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

export interface SpawnedApp {
  readonly url: string
  readonly port: number
  readonly output: () => string
  stop(): Promise<void>
}

function assertBuilt(): void {
  if (!existsSync(WEB_APP_ENTRY))
    throw new Error(`${WEB_APP_ENTRY} is missing: run npx tsc -b first`)
}

/** Runs the web app until it exits; for start-up error tests. */
export async function runWebAppExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt()
  return runToExit(WEB_APP_ENTRY, { ...baseEnv(), ...env })
}

/** Starts the web app and waits for its `listening` line. */
export async function startWebApp(env: Record<string, string>): Promise<SpawnedApp> {
  assertBuilt()
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort()
  const child = spawnNode(WEB_APP_ENTRY, { ...baseEnv(), PORT: String(port), ...env })
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
