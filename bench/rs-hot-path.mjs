// Issue 10: the CPU cost of the resource server's hot path (a cached token on an Express route),
// RFC 9728 metadata off vs on, measured in process with interleaved batches so both see the same
// machine load. Reports CPU nanoseconds per request and the same-run ratio.
//   node bench/rs-hot-path.mjs            (after `pnpm build`)
// Knobs: BENCH_HOT_BATCHES (default 40), BENCH_HOT_BATCH (requests per batch, default 20000).

import { cpuUsage } from 'node:process'
import { createVerifier } from '@codegrant/resource-server'
import { protectedResourceMetadata, requireToken } from '@codegrant/resource-server/express'
import { startMetadataServer } from './lib/metadata-server.mjs'
import { AUDIENCE, SCOPE, createMinter, generateSigningKeys, toJwks } from './lib/tokens.mjs'

const batches = Number(process.env.BENCH_HOT_BATCHES ?? 40)
const batchSize = Number(process.env.BENCH_HOT_BATCH ?? 20_000)

const keys = generateSigningKeys()
const as = await startMetadataServer({ jwks: toJwks([keys.RS256]) })
try {
  const token = createMinter({ key: keys.RS256, issuer: as.issuer }).mintSync()
  const scopes = [SCOPE.split(' ')[0]]
  const base = {
    issuer: as.issuer,
    audience: AUDIENCE,
    jwksUri: as.jwksUri,
    algorithms: ['RS256'],
    strict: true,
  }

  /** @type {Record<string, import('express').RequestHandler[]>} */
  const chains = {}
  chains.off = [requireToken({ ...base, scopes })]
  // A second, identical "off" chain: the noise floor of the comparison.
  chains.control = [requireToken({ ...base, scopes })]
  const verifier = createVerifier({
    ...base,
    resourceMetadata: {
      resource: AUDIENCE,
      url: 'http://127.0.0.1/.well-known/oauth-protected-resource',
    },
  })
  chains.on = [protectedResourceMetadata(verifier), requireToken({ verifier, scopes })]

  /** A minimal Express-like request for GET /api/private with the token. */
  const request = () => ({
    method: 'GET',
    path: '/api/private',
    originalUrl: '/api/private',
    headers: { authorization: `Bearer ${token}`, host: '127.0.0.1' },
    query: {},
    body: undefined,
    socket: {},
  })

  /** Runs the chain once; resolves when the last middleware called next() without an error. */
  function runOnce(chain) {
    return new Promise((resolve, reject) => {
      const req = request()
      let i = 0
      const next = (err) => {
        if (err !== undefined) return reject(err)
        const mw = chain[i++]
        if (mw === undefined) return resolve(req)
        mw(req, {}, next)
      }
      next()
    })
  }

  // Warm-up: the first request fetches the JWKS and fills the cache; then JIT.
  for (const chain of Object.values(chains)) for (let i = 0; i < 2000; i++) await runOnce(chain)

  /** Synchronous batch (cache hits complete synchronously); CPU ns per request. */
  function batch(chain) {
    let done = 0
    const start = cpuUsage()
    for (let i = 0; i < batchSize; i++) {
      const req = request()
      let k = 0
      const next = (err) => {
        if (err !== undefined) throw err
        const mw = chain[k++]
        if (mw === undefined) {
          done++
          return
        }
        mw(req, {}, next)
      }
      next()
    }
    const used = cpuUsage(start)
    if (done !== batchSize) throw new Error('a request did not complete synchronously')
    return ((used.user + used.system) * 1000) / batchSize
  }

  const samples = { off: [], on: [], control: [] }
  const orders = [
    ['off', 'on', 'control'],
    ['on', 'control', 'off'],
    ['control', 'off', 'on'],
  ]
  for (let b = 0; b < batches; b++)
    for (const name of orders[b % orders.length]) samples[name].push(batch(chains[name]))
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const off = median(samples.off)
  const on = median(samples.on)
  const control = median(samples.control)
  process.stdout.write(
    `| hot path (cached RS256 token, scope check) | CPU ns/request (median of ${batches} batches of ${batchSize}) |\n` +
      '| --- | ---: |\n' +
      `| RFC 9728 metadata off | ${off.toFixed(0)} |\n` +
      `| RFC 9728 metadata off, second instance (noise floor) | ${control.toFixed(0)} |\n` +
      `| RFC 9728 metadata on (metadata middleware + registered scope) | ${on.toFixed(0)} |\n\n` +
      `on / off: **${(on / off).toFixed(3)}x** CPU per request; control / off: ${(control / off).toFixed(3)}x\n`,
  )
} finally {
  await as.close()
}
