// The load generator: autocannon in this (parent) process, a warm-up excluded from the
// results, then the measured run. Latency percentiles come from per-response timings (float ms),
// finer than autocannon's whole-millisecond histogram.

import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { config } from './config.mjs'

/**
 * @typedef {object} LoadOptions
 * @property {string} url full URL of the route
 * @property {Record<string, string>} [headers] static request headers
 * @property {() => Record<string, string>} [nextHeaders] headers computed per request
 *   (a different Authorization header on every request, for instance)
 * @property {number} [duration] measured seconds
 * @property {number} [warmup] warm-up seconds
 * @property {number} [serverPid] the server's process id, to measure its CPU use
 *
 * @typedef {object} Measurement
 * @property {number} rps 2xx responses per second over the measured run
 * @property {number} p50 median latency, ms
 * @property {number} p99 99th-percentile latency, ms
 * @property {number} requests 2xx responses in the measured run
 * @property {number} non2xx
 * @property {number} errors connection errors and timeouts
 * @property {number} seconds measured duration
 * @property {number} loadGeneratorCpu CPU seconds per second the load generator (this process)
 *   used during the measured run: near 1 means autocannon itself was the bottleneck
 * @property {number} [serverCpuPerRequest] CPU microseconds the server process spent per 2xx
 *   response during the measured run (from /proc; less sensitive to other load than req/s)
 */

/**
 * User + system CPU seconds of a process (Linux /proc), or NaN elsewhere.
 * @param {number | undefined} pid
 */
function processCpu(pid) {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/**
 * Runs autocannon once.
 * @param {LoadOptions} options
 * @param {number} duration
 * @param {((ms: number) => void) | undefined} onLatency
 */
function runOnce({ url, headers = {}, nextHeaders }, duration, onLatency) {
  const target = new URL(url)
  /** @type {Record<string, unknown>} */
  const opts = {
    url: target.origin,
    connections: config.connections,
    pipelining: 1,
    duration,
    timeout: 10,
    headers,
    requests: [
      nextHeaders
        ? {
            method: 'GET',
            path: target.pathname + target.search,
            setupRequest: (/** @type {any} */ req) => {
              Object.assign(req.headers, nextHeaders())
              return req
            },
          }
        : { method: 'GET', path: target.pathname + target.search },
    ],
  }
  if (onLatency) {
    opts.setupClient = (/** @type {any} */ client) => {
      client.on('response', (/** @type {number} */ status, _bytes, /** @type {number} */ ms) => {
        if (status >= 200 && status < 300) onLatency(ms)
      })
    }
  }
  return new Promise((resolve, reject) => {
    autocannon(opts, (/** @type {unknown} */ err, /** @type {any} */ result) =>
      err ? reject(err) : resolve(result),
    )
  })
}

/**
 * Warms the server up, then measures it.
 * @param {LoadOptions} options
 * @returns {Promise<Measurement>}
 */
export async function measure(options) {
  const duration = options.duration ?? config.duration
  const warmup = options.warmup ?? config.warmup
  if (warmup > 0) await runOnce(options, warmup, undefined)

  let latencies = new Float64Array(1 << 16)
  let n = 0
  const cpuBefore = process.cpuUsage()
  const serverBefore = processCpu(options.serverPid)
  const result = await runOnce(options, duration, (ms) => {
    if (n === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[n++] = ms
  })
  const cpu = process.cpuUsage(cpuBefore)
  const serverCpu = processCpu(options.serverPid) - serverBefore
  const sorted = latencies.subarray(0, n).sort()
  const pct = (/** @type {number} */ p) =>
    n === 0 ? NaN : /** @type {number} */ (sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)])
  const seconds = result.duration
  return {
    rps: result['2xx'] / seconds,
    p50: pct(50),
    p99: pct(99),
    requests: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds,
    loadGeneratorCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    ...(Number.isFinite(serverCpu) && result['2xx'] > 0
      ? { serverCpuPerRequest: (serverCpu * 1e6) / result['2xx'] }
      : {}),
  }
}
