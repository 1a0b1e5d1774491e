// Child processes for integration tests: examples run from their tsc output (dist) with
// `node <entry>`, waited on until they print a line, and stopped so that none is left behind.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'

/** A child with piped stdout and stderr (stdin ignored). */
export type Child = ChildProcessByStdio<null, Readable, Readable>

/** The few variables a child needs from this process (no inherited secrets or settings). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** Runs `node <script>` with exactly `env` (undefined values are left out). */
export function spawnNode(
  script: string,
  env: Record<string, string | undefined>,
  cwd?: string,
): Child {
  return spawn(process.execPath, [script], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd !== undefined ? { cwd } : {}),
  })
}

/** Everything the child writes (stdout and stderr, in arrival order). */
export function collectOutput(child: Child): () => string {
  let output = ''
  const add = (chunk: Buffer) => (output += chunk.toString())
  child.stdout.on('data', add)
  child.stderr.on('data', add)
  return () => output
}

/**
 * Resolves with the match once the child's output (stdout and stderr) matches `pattern`, e.g. the
 * `listening` line; rejects when the child exits first or after `timeoutMs`.
 */
export function waitForOutput(
  child: Child,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpExecArray> {
  const output = collectOutput(child)
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      child.stdout.off('data', check)
      child.stderr.off('data', check)
      child.off('exit', exited)
    }
    const check = () => {
      const match = pattern.exec(output())
      if (match === null) return
      done()
      resolve(match)
    }
    const exited = (code: number | null) => {
      done()
      reject(new Error(`exited (${code}) before printing ${pattern}:\n${output()}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`did not print ${pattern} within ${timeoutMs} ms:\n${output()}`))
    }, timeoutMs)
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    child.once('exit', exited)
  })
}

/** Stops the child (SIGTERM) if it still runs, and waits for it to exit. */
export async function stopChild(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
}

/**
 * Runs `node <script>` until it exits (killed after 10 s), for start-up error tests: its exit code
 * and output.
 */
export async function runToExit(
  script: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnNode(script, env)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
