// The local authorization server (@codegrant/local-as) in its own process, so it never shares
// an event loop with the load generator. Access tokens live an hour: no refresh during a run.

import { fail, readServerConfig } from './serve.mjs'

const cfg = readServerConfig()

try {
  const { startLocalAs } = await import('@codegrant/local-as')
  const as = await startLocalAs({ ttl: { AccessToken: cfg.accessTokenTtl ?? 3600 } })
  const stop = () => {
    as.close().then(
      () => process.exit(0),
      () => process.exit(0),
    )
    setTimeout(() => process.exit(0), 2_000).unref()
  }
  process.on('message', (/** @type {any} */ msg) => {
    if (msg?.type === 'stop') stop()
  })
  process.on('disconnect', stop)
  process.send?.({ type: 'ready', port: Number(as.url.port), issuer: as.issuer })
} catch (err) {
  fail(err)
}
