// A scripted mutation pass (issue 15): each mutant is a small change to security- or
// correctness-critical source; it is applied, the test files that exercise it run (Vitest,
// `--bail 1`), and the file is restored. A mutant the tests do not notice "survives".
//
//   pnpm mutants                      every list (core, session, express, resource-server)
//   pnpm mutants core                 one package's list
//   pnpm mutants core:state-not-compared express:touch-not-throttled
//   pnpm mutants --list               check and print the mutants, run nothing
//   pnpm mutants --no-baseline core   skip the first run of the listed tests on the clean source
//
// The lists are in scripts/mutants/<package>.mjs: { id, file, from, to, tests, description,
// equivalent? }, `file` and `tests` relative to the repository root, `from` the exact original
// text (it must occur once in the file). An `equivalent: true` mutant cannot be told apart from
// the original by any test (its description says why); it runs and is reported apart from the
// score. A mutant whose file no longer parses is INVALID (a broken entry, not a kill). Exit code 1
// when a non-equivalent mutant survives, one is invalid, or a list is stale.
//
// Safety: the script refuses to start when a file it would mutate has uncommitted changes; it
// restores the file after each mutant, on Ctrl-C / SIGTERM / SIGHUP and on a crash of this
// script. Before each mutation it writes a journal (node_modules/.cache/mutants-journal.json);
// if the process is killed outright (SIGKILL, power loss), the next run puts the original back
// from it first (only while the file still holds exactly the mutated text).

import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import core from './mutants/core.mjs'
import express from './mutants/express.mjs'
import resourceServer from './mutants/resource-server.mjs'
import session from './mutants/session.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const JOURNAL = join(ROOT, 'node_modules/.cache/mutants-journal.json')
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs')
/** A test run that takes longer than this is stopped, and the mutant counted as killed. */
const TIMEOUT_MS = 5 * 60_000

/**
 * @typedef {{ id: string, file: string, from: string, to: string, tests: string[],
 *   description: string, equivalent?: boolean }} Mutant
 */
/** @type {Record<string, Mutant[]>} */
const LISTS = { core, session, express, 'resource-server': resourceServer }

const abs = (path) => join(ROOT, path)
const write = (text) => process.stdout.write(text)

function recoverFromJournal() {
  if (!existsSync(JOURNAL)) return
  const { file, original, mutated } = JSON.parse(readFileSync(JOURNAL, 'utf8'))
  const current = existsSync(abs(file)) ? readFileSync(abs(file), 'utf8') : undefined
  if (current === mutated) {
    writeFileSync(abs(file), original)
    write(`restored ${file} from the journal of an interrupted run\n`)
  } else if (current !== original) {
    write(
      `note: the journal of an interrupted run names ${file}, which has changed since; left alone\n`,
    )
  }
  rmSync(JOURNAL)
}

function select(args) {
  const picked = []
  for (const [pkg, list] of Object.entries(LISTS)) {
    for (const m of list) {
      if (
        args.length === 0 ||
        args.includes(pkg) ||
        args.includes(`${pkg}:${m.id}`) ||
        args.includes(m.id)
      ) {
        picked.push({ pkg, ...m })
      }
    }
  }
  const known = new Set(picked.flatMap((m) => [m.pkg, m.id, `${m.pkg}:${m.id}`]))
  const unknown = args.filter((a) => !known.has(a))
  if (unknown.length > 0) {
    throw new Error(`unknown package or mutant: ${unknown.join(', ')}`)
  }
  return picked
}

/** Checks every selected mutant before anything is touched. */
function validate(selected) {
  const problems = []
  const ids = new Set()
  for (const m of selected) {
    const name = `${m.pkg}:${m.id}`
    if (ids.has(name)) problems.push(`${name}: duplicate id`)
    ids.add(name)
    if (!m.description) problems.push(`${name}: no description`)
    if (!Array.isArray(m.tests) || m.tests.length === 0) problems.push(`${name}: no test files`)
    for (const t of m.tests ?? []) {
      if (!existsSync(abs(t))) problems.push(`${name}: test file ${t} does not exist`)
    }
    if (!existsSync(abs(m.file))) {
      problems.push(`${name}: ${m.file} does not exist`)
      continue
    }
    const count = readFileSync(abs(m.file), 'utf8').split(m.from).length - 1
    if (count !== 1) problems.push(`${name}: the original text occurs ${count} times in ${m.file}`)
    if (m.from === m.to) problems.push(`${name}: the replacement equals the original`)
  }
  const files = [...new Set(selected.map((m) => m.file))]
  const dirty = execFileSync('git', ['status', '--porcelain', '--', ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim()
  if (dirty) problems.push(`uncommitted changes in files to be mutated:\n${dirty}`)
  return problems
}

/** The file being mutated and its original text, while a mutant is in place. */
let active
let child

function restore() {
  if (active === undefined) return
  writeFileSync(abs(active.file), active.original)
  rmSync(JOURNAL, { force: true })
  active = undefined
}

function apply(m) {
  const original = readFileSync(abs(m.file), 'utf8')
  const mutated = original.replace(m.from, () => m.to)
  mkdirSync(dirname(JOURNAL), { recursive: true })
  writeFileSync(JOURNAL, JSON.stringify({ file: m.file, original, mutated }))
  active = { file: m.file, original }
  writeFileSync(abs(m.file), mutated)
}

/** The first failing test in Vitest's output, without colours: what killed the mutant. */
function firstFailure(output) {
  const lines = output.replace(/\u001b\[[0-9;]*m/g, '').split('\n')
  const line =
    lines.find((l) => /^\s*FAIL\s/.test(l)) ??
    lines.find((l) => /^\s*×\s/.test(l)) ??
    lines.find((l) => /Error/.test(l))
  return line
    ?.trim()
    .replace(/^FAIL\s+/, '')
    .slice(0, 200)
}

/**
 * Runs the test files; resolves to { outcome: 'passed' | 'failed' | 'timeout', failure? }
 * (stopped after `timeoutMs`).
 */
function runTests(tests, bail = true, timeoutMs = TIMEOUT_MS) {
  return new Promise((resolve) => {
    const flags = bail ? ['--bail', '1'] : []
    child = spawn(process.execPath, [VITEST, 'run', ...flags, ...tests], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
    })
    let output = ''
    const collect = (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-200_000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child?.kill('SIGKILL')
    }, timeoutMs)
    timer.unref()
    child.on('close', (code) => {
      clearTimeout(timer)
      child = undefined
      // A mutant that does not even parse is no test's kill: it is a broken list entry.
      const broken = /Transform failed|PARSE_ERROR/.test(output)
      const outcome = timedOut
        ? 'timeout'
        : code === 0
          ? 'passed'
          : broken && bail
            ? 'invalid'
            : 'failed'
      resolve(outcome === 'failed' ? { outcome, failure: firstFailure(output) } : { outcome })
    })
  })
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    child?.kill('SIGKILL')
    restore()
    write(`\ninterrupted (${signal}); sources restored\n`)
    process.exit(130)
  })
}
process.on('exit', restore)
process.on('uncaughtException', (err) => {
  restore()
  console.error(err)
  process.exit(2)
})

async function main() {
  const args = process.argv.slice(2)
  const listOnly = args.includes('--list')
  const noBaseline = args.includes('--no-baseline')
  const selected = select(args.filter((a) => !a.startsWith('--')))
  if (!listOnly) recoverFromJournal()
  const problems = validate(selected)
  if (listOnly) {
    for (const m of selected) {
      write(`${m.pkg}:${m.id}${m.equivalent ? ' (equivalent)' : ''}\n  ${m.description}\n`)
    }
  }
  if (problems.length > 0) {
    write(`not started:\n${problems.map((p) => `  ${p}`).join('\n')}\n`)
    return 1
  }
  if (listOnly) return 0

  const started = Date.now()
  if (!noBaseline) {
    // Every listed test file must pass on the unmutated source, or each mutant would count as
    // killed by a failure that has nothing to do with it (a broken or flaky test).
    const files = [...new Set(selected.flatMap((m) => m.tests))]
    write(`baseline: ${files.length} test files on the unmutated source... `)
    const { outcome, failure } = await runTests(files, false, 30 * 60_000)
    write(`${outcome}${failure ? `: ${failure}` : ''}\n`)
    if (outcome !== 'passed') {
      write('not started: the tests fail without any mutant (run them with vitest to see why)\n')
      return 1
    }
  }
  /** @type {Record<string, { killed: number, survived: string[], equivalent: string[], total: number }>} */
  const score = {}
  for (const m of selected) {
    const s = (score[m.pkg] ??= { killed: 0, survived: [], equivalent: [], invalid: [], total: 0 })
    const t0 = Date.now()
    apply(m)
    let outcome
    let failure
    try {
      ;({ outcome, failure } = await runTests(m.tests))
    } finally {
      restore()
    }
    const seconds = ((Date.now() - t0) / 1000).toFixed(0).padStart(4)
    const label = m.equivalent
      ? outcome === 'passed'
        ? 'equiv.  '
        : 'equiv.!!'
      : outcome === 'passed'
        ? 'SURVIVED'
        : outcome === 'invalid'
          ? 'INVALID '
          : outcome === 'timeout'
            ? 'killed/t'
            : 'killed  '
    write(`${label} ${seconds}s ${m.pkg}:${m.id}: ${m.description}\n`)
    if (failure) write(`${' '.repeat(15)}by ${failure}\n`)
    if (m.equivalent) {
      // A test now tells an "equivalent" mutant apart: drop the mark and score it.
      s.equivalent.push(outcome === 'passed' ? m.id : `${m.id} (killed: not equivalent)`)
      continue
    }
    if (outcome === 'invalid') {
      s.invalid.push(m.id)
      continue
    }
    s.total += 1
    if (outcome === 'passed') s.survived.push(m.id)
    else s.killed += 1
  }

  write('\n')
  let survivors = 0
  let killed = 0
  let total = 0
  for (const [pkg, s] of Object.entries(score)) {
    const pct = s.total === 0 ? 100 : (100 * s.killed) / s.total
    write(
      `${pkg}: ${s.killed}/${s.total} killed (${pct.toFixed(1)}%)` +
        (s.equivalent.length ? `; equivalent, not scored: ${s.equivalent.join(', ')}` : '') +
        (s.survived.length ? `; survived: ${s.survived.join(', ')}` : '') +
        (s.invalid.length
          ? `; INVALID (does not parse, fix the list): ${s.invalid.join(', ')}`
          : '') +
        '\n',
    )
    survivors += s.survived.length + s.invalid.length
    killed += s.killed
    total += s.total
  }
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  write(
    `total: ${killed}/${total} killed (${total === 0 ? '100.0' : ((100 * killed) / total).toFixed(1)}%) in ${minutes} min\n`,
  )
  return survivors === 0 ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    restore()
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 2
  },
)
