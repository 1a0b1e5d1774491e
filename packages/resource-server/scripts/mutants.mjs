// A scripted mutation pass over @codegrant/resource-server (issue 15): each mutant is a one- or
// few-line change to security-critical code; it is applied to the source, the unit tests that
// exercise it run, and the source is restored. A mutant the tests do not notice "survives".
//   node packages/resource-server/scripts/mutants.mjs [id ...]
// Exit code 1 when a mutant survives. Run from a clean tree: files are restored after each mutant
// (and on Ctrl-C), but a copy of every touched file is kept in memory only.

import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const pkg = 'packages/resource-server'

/** @type {{ id: string, file: string, from: string, to: string, tests: string[] }[]} */
const MUTANTS = [
  {
    id: 'introspection-string-active',
    file: 'src/introspection.ts',
    from: 'if (response.active !== true)',
    to: "if (response.active !== true && response.active !== 'true')",
    tests: ['test/regressions.test.ts', 'test/introspection.test.ts'],
  },
  {
    id: 'extract-echoes-access-token',
    file: 'src/extract.ts',
    from: "if (!B64TOKEN.test(value)) throw invalidRequest('The access_token parameter is malformed')",
    to: 'if (!B64TOKEN.test(value)) throw invalidRequest(`The access_token parameter is malformed: ${value}`)',
    tests: ['test/regressions.test.ts', 'test/extract.test.ts'],
  },
  {
    id: 'rsa-under-2048',
    file: 'src/algorithms.ts',
    from: "if (type === 'rsa') {\n    if ((details?.modulusLength ?? 0) < 2048) return out",
    to: "if (type === 'rsa') {\n    if ((details?.modulusLength ?? 0) < 1024) return out",
    tests: ['test/regressions.test.ts'],
  },
  {
    id: 'rsa-pss-under-2048',
    file: 'src/algorithms.ts',
    from: "} else if (type === 'rsa-pss') {\n    // An RSA-PSS key cannot do PKCS#1 v1.5; its own parameters are enforced by node:crypto.\n    if ((details?.modulusLength ?? 0) < 2048) return out",
    to: "} else if (type === 'rsa-pss') {\n    if ((details?.modulusLength ?? 0) < 1024) return out",
    tests: ['test/regressions.test.ts'],
  },
  {
    id: 'unknown-iss-falls-back-to-first-issuer',
    file: 'src/verifier.ts',
    from: '(claims.iss === undefined && state.issuers.length === 1 ? state.issuers[0] : undefined)',
    to: 'state.issuers[0]',
    tests: ['test/issuers.test.ts'],
  },
  {
    id: 'missing-iss-accepted',
    file: 'src/verifier.ts',
    from: '  checkType(header, options)\n  if (claims.iss === undefined)\n    throw',
    to: '  checkType(header, options)\n  if (claims.iss === null)\n    throw',
    tests: ['test/verifier-jwt.test.ts', 'test/issuers.test.ts'],
  },
  {
    id: 'issuer-compared-without-normalising',
    file: 'src/options.ts',
    from: 'return a !== undefined && a === normalizeIssuer(expected)',
    to: 'return false',
    tests: ['test/issuers.test.ts'],
  },
  {
    id: 'audience-not-checked',
    file: 'src/jwt-checks.ts',
    from: "if (!audienceMatches(claims.aud, options.audiences)) throw claimError('aud')",
    to: '',
    tests: ['test/issuers.test.ts', 'test/verifier-jwt.test.ts'],
  },
  {
    id: 'strict-type-ignored',
    file: 'src/jwt-checks.ts',
    from: 'if (!isAccessTokenType(header.typ, options.strictType))',
    to: 'if (!isAccessTokenType(header.typ, false))',
    tests: ['test/regressions.test.ts'],
  },
  {
    id: 'typ-never-checked',
    file: 'src/verifier.ts',
    from: '  checkType(header, options)\n',
    to: '',
    tests: ['test/verifier-jwt.test.ts', 'test/regressions.test.ts'],
  },
  {
    id: 'replay-evicts-the-newcomer-not-the-largest',
    file: 'src/dpop.ts',
    from: '      const largest = this.largestKey()',
    to: '      const largest = this.current.keys().next().value',
    tests: ['test/dpop.test.ts'],
  },
  {
    id: 'replay-eviction-mark-ignored',
    file: 'src/dpop.ts',
    from: "if (mark !== undefined && iat <= mark) return 'full'",
    to: '',
    tests: ['test/dpop.test.ts'],
  },
  {
    id: 'replay-store-miss-treated-as-new',
    file: 'src/dpop.ts',
    from: "(isNew) => (isNew === true ? 'ok' : 'replayed')",
    to: "() => 'ok'",
    tests: ['test/replay-store.test.ts'],
  },
  {
    id: 'replay-store-failure-accepted',
    file: 'src/dpop.ts',
    from: '(cause: unknown) => Promise.reject(storeUnavailable(cause, this.options)),',
    to: "() => 'ok' as const,",
    tests: ['test/replay-store.test.ts'],
  },
  {
    id: 'challenge-without-resource-metadata',
    file: 'src/verifier.ts',
    from: 'return url === undefined ? err : withResourceMetadata(err, url)',
    to: 'return err',
    tests: ['test/resource-metadata.test.ts'],
  },
  {
    id: 'guard-scopes-not-registered',
    file: 'src/verifier.ts',
    from: 'if (resolved !== undefined) this.register(resolved.scopes)',
    to: '',
    tests: ['test/resource-metadata.test.ts'],
  },
  {
    id: 'issuer-mismatch-silent',
    file: 'src/discovery.ts',
    from: '      warn(\n        options,\n        err.code,',
    to: '      void (\n        options,\n        err.code,',
    tests: ['test/issuers.test.ts'],
  },
]

const only = process.argv.slice(2)
const selected = only.length === 0 ? MUTANTS : MUTANTS.filter((m) => only.includes(m.id))
const originals = new Map()

function restore() {
  for (const [path, text] of originals) writeFileSync(path, text)
}
process.on('SIGINT', () => {
  restore()
  process.exit(130)
})

let survived = 0
try {
  for (const mutant of selected) {
    const path = `${root}${pkg}/${mutant.file}`
    const text = readFileSync(path, 'utf8')
    if (!originals.has(path)) originals.set(path, text)
    if (!text.includes(mutant.from)) {
      process.stdout.write(`? ${mutant.id}: pattern not found in ${mutant.file} (stale mutant)\n`)
      survived++
      continue
    }
    writeFileSync(path, text.replace(mutant.from, mutant.to))
    const run = spawnSync(
      'pnpm',
      ['exec', 'vitest', 'run', '--project', 'unit', ...mutant.tests.map((t) => `${pkg}/${t}`)],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    writeFileSync(path, text)
    const killed = run.status !== 0
    if (!killed) survived++
    process.stdout.write(`${killed ? 'killed  ' : 'SURVIVED'} ${mutant.id}\n`)
  }
} finally {
  restore()
}
const total = selected.length
process.stdout.write(`\n${total - survived}/${total} mutants killed\n`)
process.exit(survived === 0 ? 0 : 1)
