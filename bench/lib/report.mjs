// Rounds, medians, ratios, the Markdown table and the JSON results file.

import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { config, describeMachine } from './config.mjs'

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url))

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return NaN
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[mid])
    : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2
}

/**
 * @typedef {import('./load.mjs').Measurement} Measurement
 * @typedef {{ name: string, label: string, measureOnce: () => Promise<Measurement> }} Contender
 * @typedef {{ of: string, vs: string, target: number }} Target
 * @typedef {{ id: string, title: string, contenders: Contender[], targets: Target[], note?: string }} Scenario
 * @typedef {{ rps: number, p50: number, p99: number, valid: boolean, error?: string, runs: Measurement[] }} Summary
 * @typedef {{ of: string, vs: string, ratio: number, target: number, met: boolean }} Comparison
 * @typedef {{ id: string, title: string, note?: string, contenders: Record<string, Summary & { label: string }>, comparisons: Comparison[] }} ScenarioResult
 */

/**
 * Runs a scenario for `config.rounds` rounds, rotating the contenders' order each round
 * (A B C, B C A, C A B, ...), and summarizes each contender by its medians.
 * @param {Scenario} scenario
 * @returns {Promise<ScenarioResult>}
 */
export async function runScenario(scenario) {
  const { contenders } = scenario
  /** @type {Record<string, Measurement[]>} */
  const runs = Object.fromEntries(contenders.map((c) => [c.name, []]))
  /** @type {Record<string, string>} */
  const unavailable = {}
  for (let round = 0; round < config.rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length])
    for (const contender of order) {
      if (!contender || unavailable[contender.name]) continue
      /** @type {Measurement} */
      let m
      try {
        m = await contender.measureOnce()
      } catch (err) {
        // A package that is not ready yet: report it, keep measuring the others.
        unavailable[contender.name] = err instanceof Error ? err.message : String(err)
        process.stderr.write(
          `  ${scenario.id} ${contender.name}: not available: ${unavailable[contender.name]}\n`,
        )
        continue
      }
      runs[contender.name]?.push(m)
      const flag = m.non2xx || m.errors ? `  !! non-2xx ${m.non2xx}, errors ${m.errors}` : ''
      process.stderr.write(
        `  ${scenario.id} round ${round + 1}/${config.rounds} ${contender.name.padEnd(10)} ` +
          `${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms` +
          `  load-gen cpu ${(m.loadGeneratorCpu * 100).toFixed(0)}%` +
          (m.serverCpuPerRequest !== undefined
            ? `  server cpu ${m.serverCpuPerRequest.toFixed(0)} µs/req`
            : '') +
          `${flag}\n`,
      )
    }
  }
  /** @type {ScenarioResult['contenders']} */
  const summaries = {}
  for (const c of contenders) {
    const list = runs[c.name] ?? []
    summaries[c.name] = {
      label: c.label,
      rps: median(list.map((m) => m.rps)),
      p50: median(list.map((m) => m.p50)),
      p99: median(list.map((m) => m.p99)),
      valid:
        list.length > 0 && list.every((m) => m.non2xx === 0 && m.errors === 0 && m.requests > 0),
      ...(unavailable[c.name] ? { error: unavailable[c.name] } : {}),
      runs: list,
    }
  }
  const comparisons = scenario.targets.map(({ of, vs, target }) => {
    const ratio = (summaries[of]?.rps ?? NaN) / (summaries[vs]?.rps ?? NaN)
    const ok = summaries[of]?.valid === true && summaries[vs]?.valid === true
    return { of, vs, ratio: ok ? ratio : NaN, target, met: ok && ratio >= target }
  })
  return {
    id: scenario.id,
    title: scenario.title,
    ...(scenario.note ? { note: scenario.note } : {}),
    contenders: summaries,
    comparisons,
  }
}

/** @param {number} n */
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
/** @param {number} n */
const ratio = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a')

/**
 * The Markdown table of one scenario, with each contender's ratio to every contender that a
 * target compares against.
 * @param {ScenarioResult} result
 */
export function toMarkdown(result) {
  const baselines = [...new Set(result.comparisons.map((c) => c.vs))]
  const names = Object.keys(result.contenders)
  const head = ['contender', 'req/s', 'p50 ms', 'p99 ms', ...baselines.map((b) => `vs ${b}`)]
  const lines = [
    `### ${result.title}`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const name of names) {
    const s = /** @type {Summary & { label: string }} */ (result.contenders[name])
    const ratios = baselines.map((b) =>
      b === name ? '1.00x' : ratio(s.rps / (result.contenders[b]?.rps ?? NaN)),
    )
    const invalid = s.error
      ? ` (not available: ${s.error})`
      : s.valid
        ? ''
        : ' (invalid: non-2xx or errors)'
    lines.push(
      `| ${s.label}${invalid} | ${fmt(s.rps)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${ratios.join(' | ')} |`,
    )
  }
  lines.push('')
  for (const c of result.comparisons) {
    lines.push(
      `- ${c.of} / ${c.vs}: **${ratio(c.ratio)}** (target >= ${c.target}x) ${c.met ? 'met' : Number.isFinite(c.ratio) ? 'MISSED' : 'not measured'}`,
    )
  }
  if (result.note) lines.push('', result.note)
  lines.push('')
  return lines.join('\n')
}

/** The commit the measured packages were built from (uncommitted changes are not recorded). */
function gitHead() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
}

/**
 * Writes bench/results/<name>.json.
 * @param {string} name
 * @param {ScenarioResult[]} scenarios
 * @param {Record<string, unknown>} [extra]
 */
export function writeResults(name, scenarios, extra = {}) {
  mkdirSync(resultsDir, { recursive: true })
  const file = `${resultsDir}${name}.json`
  const body = {
    benchmark: name,
    date: new Date().toISOString(),
    commit: gitHead(),
    machine: describeMachine(),
    settings: {
      duration: config.duration,
      warmup: config.warmup,
      connections: config.connections,
      pipelining: 1,
      rounds: config.rounds,
    },
    ...extra,
    scenarios,
  }
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`)
  return file
}
