// Starts a real redis-server (Debian's /usr/bin/redis-server) on a free loopback port, with no
// persistence, for integration tests; stop() and start() again on the same port simulate an outage.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { freePort } from './ports.js'

const REDIS_SERVER = '/usr/bin/redis-server'

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Whether the server process is running. */
  readonly running: boolean
  /** Starts the server again on the same port (after {@link RedisServer.stop}). */
  start(): Promise<void>
  /** Stops the server process and waits for it to exit. */
  stop(): Promise<void>
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/** Starts redis-server on a free port; call `stop()` in `afterAll`. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    if (child !== undefined) return
    const proc = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    child = proc
    let stderr = ''
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    proc.once('exit', () => {
      if (child === proc) child = undefined
    })
    const deadline = Date.now() + 10_000
    while (!(await ping(port))) {
      if (child !== proc) throw new Error(`redis-server exited at start: ${stderr.trim()}`)
      if (Date.now() > deadline) throw new Error('redis-server did not become ready')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const stop = async (): Promise<void> => {
    const proc = child
    if (proc === undefined) return
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve())
      proc.kill('SIGTERM')
    })
    child = undefined
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined
    },
    start,
    stop,
  }
}
