// Benchmark knobs, read once from the environment (the harness is an app, not a library).

import { availableParallelism, cpus } from 'node:os'

/**
 * Reads a positive number from the environment.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
function readNumber(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`"${name}" must be a positive number (got "${raw}")`)
  }
  return value
}

/**
 * Reads a comma-separated list from the environment.
 * @param {string} name
 * @param {string[]} fallback
 * @returns {string[]}
 */
function readList(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** The frozen benchmark configuration. */
export const config = Object.freeze({
  /** Measured seconds per run (`BENCH_DURATION`, default 5). */
  duration: readNumber('BENCH_DURATION', 5),
  /** Warm-up seconds per run, excluded from the results (`BENCH_WARMUP`, default 1). */
  warmup: readNumber('BENCH_WARMUP', 1),
  /** Concurrent connections (`BENCH_CONNECTIONS`, default 50). */
  connections: Math.round(readNumber('BENCH_CONNECTIONS', 50)),
  /** Rounds; the contenders' order alternates each round, the median is reported (`BENCH_ROUNDS`, default 3). */
  rounds: Math.round(readNumber('BENCH_ROUNDS', 3)),
  /** Distinct tokens cycled in scenario (b) (`BENCH_DISTINCT_TOKENS`, default 2000). */
  distinctTokens: Math.round(readNumber('BENCH_DISTINCT_TOKENS', 2000)),
  /** Algorithm for scenarios (a) and (b) (`BENCH_ALG`, default RS256). */
  alg: process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'RS256',
  /** Scenario filter, e.g. `BENCH_ONLY=rs-a,rs-c-es256,web` (default: all). */
  only: readList('BENCH_ONLY', []),
  /** Write a V8 CPU profile of every server process to bench/results/profiles (`BENCH_CPU_PROF=1`). */
  cpuProf: process.env.BENCH_CPU_PROF === '1',
})

/**
 * Tells whether a scenario id passes the `BENCH_ONLY` filter (prefix match).
 * @param {string} id
 * @returns {boolean}
 */
export function isSelected(id) {
  return config.only.length === 0 || config.only.some((p) => id === p || id.startsWith(`${p}-`))
}

/** Describes the machine the figures come from. */
export function describeMachine() {
  const cpu = cpus()[0]
  return {
    nproc: availableParallelism(),
    cpuModel: cpu ? cpu.model : 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  }
}
