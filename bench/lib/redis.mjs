// A throw-away redis-server on a loopback port for the Redis scenarios, and a MONITOR-based count
// of the commands a request costs.

import { spawn } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free loopback TCP port. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts `redis-server` (no persistence) and waits until it accepts connections.
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void> }>}
 */
export async function startRedis() {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) break
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL')
      throw new Error('redis-server did not start')
    }
    await sleep(50)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Counts the Redis commands `count` sequential requests cause, through `MONITOR` on a raw
 * connection (RESP inline reply lines `+<time> [db addr] "CMD" ...`).
 * @param {number} port
 * @param {() => Promise<void>} request one request, awaited to its end
 * @param {number} count
 * @returns {Promise<{ perRequest: number, commands: Record<string, number> }>}
 */
export async function countCommands(port, request, count) {
  const socket = connect(port, '127.0.0.1')
  let buffer = ''
  /** @type {string[]} */
  const lines = []
  socket.setEncoding('utf8')
  socket.on('data', (chunk) => {
    buffer += chunk
    let nl
    while ((nl = buffer.indexOf('\r\n')) !== -1) {
      lines.push(buffer.slice(0, nl))
      buffer = buffer.slice(nl + 2)
    }
  })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write('MONITOR\r\n')
  while (!lines.includes('+OK')) await sleep(10)
  const start = lines.length
  for (let i = 0; i < count; i++) await request()
  await sleep(300)
  socket.destroy()
  /** @type {Record<string, number>} */
  const commands = {}
  for (const line of lines.slice(start)) {
    const match = /^\+\d+\.\d+ \[[^\]]*\] "([^"]+)"/.exec(line)
    if (match === null) continue
    const name = /** @type {string} */ (match[1]).toUpperCase()
    commands[name] = (commands[name] ?? 0) + 1
  }
  const total = Object.values(commands).reduce((a, b) => a + b, 0)
  for (const name of Object.keys(commands)) {
    commands[name] = /** @type {number} */ (commands[name]) / count
  }
  return { perRequest: total / count, commands }
}
