// Spawns examples/web-app from its tsc output (dist) as a child process, for contract and
// browser tests. Build first: `npx tsc -b` (pnpm test does).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const WEB_APP_ENTRY = fileURLToPath(
  new URL('../examples/web-app/dist/index.js', import.meta.url),
)

export interface SpawnedApp {
  readonly url: string
  readonly port: number
  readonly output: () => string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** Runs the web app until it exits; for start-up error tests. */
export async function runWebAppExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(WEB_APP_ENTRY))
    throw new Error(`${WEB_APP_ENTRY} is missing: run npx tsc -b first`)
  const child = spawn(process.execPath, [WEB_APP_ENTRY], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** Starts the web app and waits for its `listening` line. */
export async function startWebApp(env: Record<string, string>): Promise<SpawnedApp> {
  if (!existsSync(WEB_APP_ENTRY))
    throw new Error(`${WEB_APP_ENTRY} is missing: run npx tsc -b first`)
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort()
  const child: ChildProcess = spawn(process.execPath, [WEB_APP_ENTRY], {
    env: { ...baseEnv(), PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web-app did not start: ${output}`)), 15_000)
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString()
      if (/listening/.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`web-app exited (${code}): ${output}`))
    })
  })
  return {
    url: env.BASE_URL ?? `http://localhost:${port}`,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
    },
  }
}
