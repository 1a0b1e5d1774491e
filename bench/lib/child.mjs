// Runs each server under test in its own Node process (its own event loop), bound to 127.0.0.1.

import { fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { config } from './config.mjs'

const profileDir = fileURLToPath(new URL('../results/profiles/', import.meta.url))

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set()

function killAll() {
  for (const child of live) child.kill('SIGKILL')
}
process.once('exit', killAll)
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/**
 * Starts `servers/<name>.mjs` with a JSON configuration and waits for it to listen.
 * The child answers `{ type: 'ready', port }` over IPC, or `{ type: 'error', message }`.
 * @param {string} name server script name, without extension
 * @param {Record<string, unknown>} serverConfig
 * @param {{ timeoutMs?: number, label?: string }} [options]
 * @returns {Promise<{ url: string, port: number, pid: number, info: Record<string, unknown>, stop: () => Promise<void> }>}
 */
export async function startServer(name, serverConfig, { timeoutMs = 30_000, label = name } = {}) {
  const script = fileURLToPath(new URL(`../servers/${name}.mjs`, import.meta.url))
  /** @type {string[]} */
  const execArgv = []
  if (config.cpuProf) {
    mkdirSync(profileDir, { recursive: true })
    execArgv.push(
      '--cpu-prof',
      `--cpu-prof-dir=${profileDir}`,
      `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`,
    )
  }
  const child = fork(script, [], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_SERVER_CONFIG: JSON.stringify(serverConfig),
    },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  live.add(child)
  child.once('exit', () => live.delete(child))

  /** @type {Record<string, unknown>} */
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${label}: server did not start within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', (/** @type {any} */ msg) => {
      if (msg?.type === 'ready') {
        clearTimeout(timer)
        resolve(msg)
      } else if (msg?.type === 'error') {
        clearTimeout(timer)
        child.kill('SIGKILL')
        reject(new Error(`${label}: ${msg.message}`))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${label}: server exited early (code ${code})`))
    })
  })

  const port = Number(info.port)
  return {
    url: `http://127.0.0.1:${port}`,
    info,
    port,
    pid: /** @type {number} */ (child.pid),
    stop: () => stopChild(child),
  }
}

/**
 * Asks the child to close and exit (so a CPU profile gets written), then kills it after 5 s.
 * @param {import('node:child_process').ChildProcess} child
 */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    if (child.connected) child.send({ type: 'stop' })
    else child.kill('SIGTERM')
  })
}
