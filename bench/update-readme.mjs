// Rewrites the "Results" section of README.md from results/*.json (the last run's figures).
// Usage: node update-readme.mjs "<the exact command that produced the results>"

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { toMarkdown } from './lib/report.mjs'

const here = (/** @type {string} */ p) => fileURLToPath(new URL(p, import.meta.url))
const START = '<!-- results:start -->'
const END = '<!-- results:end -->'
const command = process.argv[2] ?? 'pnpm --dir bench bench'

/** @type {any[]} */
const files = ['resource-server', 'web-app']
  .map((name) => here(`./results/${name}.json`))
  .filter((file) => existsSync(file))
  .map((file) => JSON.parse(readFileSync(file, 'utf8')))
if (files.length === 0) throw new Error('no results in bench/results: run the benchmark first')

const first = files[0]
const m = first.machine
const s = first.settings
const lines = [
  START,
  '',
  `Results written at ${files.map((f) => f.date).join(' and ')} by \`${command}\` (packages built from commit ${first.commit ?? 'unknown'}).`,
  '',
  `Machine: \`nproc\` = ${m.nproc}, CPU model "${m.cpuModel}" (/proc/cpuinfo), Node ${m.node}, ` +
    `${m.platform}. Settings: ${s.connections} connections, pipelining ${s.pipelining}, ` +
    `${s.warmup} s warm-up (excluded) + ${s.duration} s measured per run, median of ${s.rounds} ` +
    'rounds with the order of the contenders rotated each round; every run starts a fresh server ' +
    'process.',
  '',
]
for (const file of files) {
  lines.push(`#### ${file.benchmark}`, '')
  for (const scenario of file.scenarios) lines.push(toMarkdown(scenario).replace(/^### /, '##### '))
}
lines.push(END)

const readmePath = here('./README.md')
const readme = readFileSync(readmePath, 'utf8')
const a = readme.indexOf(START)
const b = readme.indexOf(END)
if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} section`)
writeFileSync(readmePath, readme.slice(0, a) + lines.join('\n') + readme.slice(b + END.length))
process.stderr.write('README.md results updated\n')
