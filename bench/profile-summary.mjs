// Prints the hottest functions (self time) of V8 CPU profiles written with BENCH_CPU_PROF=1.
// Usage: node profile-summary.mjs [file.cpuprofile ...] (default: every file in results/profiles)

import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('./results/profiles/', import.meta.url))
const files = process.argv.slice(2)
const list = files.length
  ? files
  : readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => dir + f)
const top = Number(process.env.TOP ?? 25)

for (const file of list) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]))
  /** @type {Map<number, number>} */
  const hits = new Map()
  const deltas = profile.timeDeltas
  profile.samples.forEach((/** @type {number} */ id, /** @type {number} */ i) =>
    hits.set(id, (hits.get(id) ?? 0) + (deltas[i] ?? 0)),
  )
  /** @type {Map<string, number>} */
  const self = new Map()
  let total = 0
  for (const [id, us] of hits) {
    const { callFrame: f } = nodes.get(id)
    const where = f.url
      ? f.url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')
      : ''
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`
    self.set(key, (self.get(key) ?? 0) + us)
    total += us
  }
  process.stdout.write(`\n${file.split('/').pop()}  (${(total / 1e6).toFixed(1)} s sampled)\n`)
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}\n`)
  }
}
