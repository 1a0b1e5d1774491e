// A scripted mutation pass over @codegrant/express: each mutant is a one- or few-line change to a
// security- or correctness-critical line; the tests that exercise it must fail with it in place.
// Run from the repository root: `node packages/express/test/mutants.mjs [id ...]`.
// The source file is restored after every mutant (also on Ctrl-C).

import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

const SRC = 'packages/express/src/'
const VAULT_TESTS = ['packages/express/test/session-vault.test.ts']

/** @type {{ id: string, file: string, from: string, to: string, tests: string[] }[]} */
const MUTANTS = [
  {
    id: 'consumed-login-not-marked',
    file: 'session-vault.ts',
    from: '      markConsumed(session.data, state)\n      return entry',
    to: '      return entry',
    tests: VAULT_TESTS,
  },
  {
    id: 'stale-save-replaces-newer-user',
    file: 'session-vault.ts',
    from: '          section.user = theirs?.user as string\n',
    to: '\n',
    tests: VAULT_TESTS,
  },
  {
    id: 'save-resurrects-destroyed-session',
    file: 'session-vault.ts',
    from: '        if (stored === undefined && section.persisted === true) return\n',
    to: '\n',
    tests: VAULT_TESTS,
  },
  {
    id: 'store-guard-without-lock',
    file: 'session-vault.ts',
    from: '    const release = await first.options.acquire(sid)\n',
    to: '    const release = async () => undefined\n',
    tests: VAULT_TESTS,
  },
  {
    id: 'logout-without-lock',
    file: 'session-vault.ts',
    from: "      await withLock(session.id, () =>\n        how === 'destroy' ? session.destroy() : session.regenerate(),\n      )",
    to: "      await (how === 'destroy' ? session.destroy() : session.regenerate())",
    tests: VAULT_TESTS,
  },
  {
    id: 'refresh-write-ignores-newer-record',
    file: 'session-vault.ts',
    from: 'if (latestUser.tokenVersion !== current.tokenVersion) {',
    to: 'if (false) {',
    tests: VAULT_TESTS,
  },
  {
    id: 'refresh-write-resurrects-session',
    file: 'session-vault.ts',
    from: 'if (latest === undefined || latestSection === undefined || latestUser === undefined) {\n          return gone\n        }',
    to: 'if (latest === undefined || latestSection === undefined || latestUser === undefined) {\n          await raw.set(sid, { cookie: {}, [sessionKey]: { user: decision.write } })\n          return { user: decision.write }\n        }',
    tests: VAULT_TESTS,
  },
  {
    id: 'ended-grant-keeps-stored-session',
    file: 'session-vault.ts',
    from: '          await raw.destroy(sid)\n          return { ended: decision.end }',
    to: '          return { ended: decision.end }',
    tests: VAULT_TESTS,
  },
  {
    id: 'touch-not-throttled',
    file: 'session-vault.ts',
    from: '      if (now - (touched.get(sid) ?? 0) < after) {',
    to: '      if (false) {',
    tests: VAULT_TESTS,
  },
  {
    id: 'login-only-session-keeps-long-expiry',
    file: 'session-vault.ts',
    from: '        session.expireIn(',
    to: '        void (',
    tests: VAULT_TESTS,
  },
  {
    id: 'form-post-attribute-quote-unescaped',
    file: 'callback.ts',
    from: ".replaceAll('\"', '&quot;')",
    to: '',
    tests: ['packages/express/test/adapter.test.ts'],
  },
  {
    // The input check of `//evil` was equivalent to the origin check and is gone; this mutant
    // removes the origin check instead.
    id: 'return-to-accepts-other-origin',
    file: 'return-to.ts',
    from: '  if (url.origin !== BASE) return undefined\n',
    to: '\n',
    tests: ['packages/express/test/units.test.ts'],
  },
  {
    id: 'mix-up-transaction-accepted',
    file: 'callback.ts',
    from: '    entry.issuer !== client.issuer ||\n    entry.clientId !== client.clientId ||\n    entry.transaction.redirect_uri !== client.redirectUri\n',
    to: '    false\n',
    tests: ['test/express-multi-issuer.test.ts'],
  },
  {
    id: 'req-auth-overwritten-by-last-router',
    file: 'auth.ts',
    from: '    if (!ours) return\n',
    to: '\n',
    tests: ['test/express-multi-issuer.test.ts'],
  },
  {
    id: 'backchannel-sid-sub-mismatch-accepted',
    file: 'backchannel-logout.ts',
    from: 'if (user !== undefined && user.claims.sub !== sub) {',
    to: 'if (false) {',
    tests: ['packages/express/test/adapter.test.ts'],
  },
  {
    id: 'sealed-user-not-bound-to-session',
    file: 'session-vault.ts',
    from: 'const userContext = (sid: string) => `user ${sessionKey} ${sid}`',
    to: 'const userContext = (_sid: string) => `user ${sessionKey}`',
    tests: VAULT_TESTS,
  },
  {
    id: 'sealed-login-not-bound-to-session',
    file: 'session-vault.ts',
    from: 'const loginContext = (sid: string, state: string) => `login ${sessionKey} ${sid} ${state}`',
    to: 'const loginContext = (_sid: string, state: string) => `login ${sessionKey} ${state}`',
    tests: VAULT_TESTS,
  },
  {
    id: 'tampering-not-reported',
    file: 'session-vault.ts',
    from: '      if (cipher.knowsKey(sealed)) options.onTampered?.(what)\n',
    to: '\n',
    tests: VAULT_TESTS,
  },
]

const only = process.argv.slice(2)
const selected = only.length === 0 ? MUTANTS : MUTANTS.filter((m) => only.includes(m.id))
let restore = () => undefined
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    restore()
    process.exit(130)
  })
}

let killed = 0
for (const m of selected) {
  const path = SRC + m.file
  const original = readFileSync(path, 'utf8')
  const count = original.split(m.from).length - 1
  if (count !== 1) {
    process.stdout.write(`?? ${m.id}: the mutated text occurs ${count} times in ${m.file}\n`)
    continue
  }
  restore = () => writeFileSync(path, original)
  writeFileSync(path, original.replace(m.from, m.to))
  let survived = true
  try {
    execFileSync('pnpm', ['exec', 'vitest', 'run', ...m.tests], { stdio: 'ignore' })
  } catch {
    survived = false
  } finally {
    restore()
    restore = () => undefined
  }
  if (!survived) killed += 1
  process.stdout.write(`${survived ? 'SURVIVED' : 'killed  '} ${m.id}\n`)
}
process.stdout.write(`\n${killed}/${selected.length} mutants killed\n`)
process.exitCode = killed === selected.length ? 0 : 1
