// Shared child-process plumbing: read the configuration, listen on 127.0.0.1, report the port,
// exit cleanly when the parent says so (or goes away).

import { createServer } from 'node:http'

/** @returns {Record<string, any>} */
export function readServerConfig() {
  const raw = process.env.BENCH_SERVER_CONFIG
  if (!raw)
    throw new TypeError('"BENCH_SERVER_CONFIG" is missing: start this file through the harness')
  return JSON.parse(raw)
}

/** Reports a start-up failure to the parent and exits. @param {unknown} err */
export function fail(err) {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  if (process.send) process.send({ type: 'error', message }, () => process.exit(1))
  else {
    process.stderr.write(`${message}\n`)
    process.exit(1)
  }
}

/**
 * Listens on 127.0.0.1 with an ephemeral port. The request handler may be attached after the
 * port is known (`build(port)`), for apps whose configuration needs their own base URL.
 * @param {(port: number) => Promise<import('node:http').RequestListener> | import('node:http').RequestListener} build
 */
export async function serve(build) {
  const server = createServer()
  server.keepAliveTimeout = 65_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const handler = await build(address.port)
  server.on('request', handler)

  const stop = () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 1_000).unref()
  }
  process.on('message', (/** @type {any} */ msg) => {
    if (msg?.type === 'stop') stop()
  })
  process.on('disconnect', stop)
  process.send?.({ type: 'ready', port: address.port })
}

/** The one route handler every contender shares: a small JSON body. */
export function okHandler(/** @type {any} */ _req, /** @type {any} */ res) {
  res.json({ ok: true })
}
