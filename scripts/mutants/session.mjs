// @codegrant/session: the session vault (login transactions, the user record, its refresh
// write-back, the store guard), the callback, returnTo, back-channel logout. Most are killed by
// tests of @codegrant/express, which drive these flows over HTTP.
// Run by scripts/mutants.mjs (`pnpm mutants session`); the fields are described there.

const VAULT_TESTS = ['packages/session/test/session-vault.test.ts']

/** @type {import('../mutants.mjs').Mutant[]} */
export default [
  {
    id: 'consumed-login-not-marked',
    description:
      'a consumed login transaction is not marked consumed (the store guard may merge it back from the stored copy, so a callback replays)',
    file: 'packages/session/src/session-vault.ts',
    from: '      markConsumed(session.data, state)\n      return entry',
    to: '      return entry',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'stale-save-replaces-newer-user',
    description:
      "a stale request's save replaces the user a newer request stored (the store guard keeps ours)",
    file: 'packages/session/src/session-vault.ts',
    from: '          section.user = theirs?.user as string\n',
    to: '\n',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'save-resurrects-destroyed-session',
    description: 'a late save writes back a session that logout destroyed meanwhile',
    file: 'packages/session/src/session-vault.ts',
    from: '        if (stored === undefined && section.persisted === true) return\n',
    to: '\n',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'store-guard-without-lock',
    description: 'the store write guard does not take the session lock',
    file: 'packages/session/src/session-vault.ts',
    from: '    const release = await first.options.acquire(sid)\n',
    to: '    const release = async () => undefined\n',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'logout-without-lock',
    description: 'logout destroys/regenerates the session without the session lock',
    file: 'packages/session/src/session-vault.ts',
    from: "      await withLock(session.id, () =>\n        how === 'destroy' ? session.destroy() : session.regenerate(),\n      )",
    to: "      await (how === 'destroy' ? session.destroy() : session.regenerate())",
    tests: [...VAULT_TESTS],
  },
  {
    id: 'refresh-write-ignores-newer-record',
    description: 'the refresh write-back ignores a newer token record (version compare removed)',
    file: 'packages/session/src/session-vault.ts',
    from: 'if (latestUser.tokenVersion !== current.tokenVersion) {',
    to: 'if (false) {',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'refresh-write-resurrects-session',
    description: 'the refresh write-back recreates a session that was destroyed during the refresh',
    file: 'packages/session/src/session-vault.ts',
    from: 'if (latest === undefined || latestSection === undefined || latestUser === undefined) {\n          return gone\n        }',
    to: 'if (latest === undefined || latestSection === undefined || latestUser === undefined) {\n          await raw.set(sid, { cookie: {}, [sessionKey]: { user: decision.write } })\n          return { user: decision.write }\n        }',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'ended-grant-keeps-stored-session',
    description: 'invalid_grant at refresh does not destroy the session in the store',
    file: 'packages/session/src/session-vault.ts',
    from: '          await raw.destroy(sid)\n          return { ended: decision.end }',
    to: '          return { ended: decision.end }',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'touch-not-throttled',
    description: 'the session touch is not throttled (every request writes the store)',
    file: 'packages/session/src/session-vault.ts',
    from: '      if (now - (touched.get(sid) ?? 0) < guard.touchAfterMs) {',
    to: '      if (false) {',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'login-only-session-keeps-long-expiry',
    description: 'a session holding only a login transaction keeps the long session expiry',
    file: 'packages/session/src/session-vault.ts',
    from: '        session.expireIn(',
    to: '        void (',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'form-post-attribute-quote-unescaped',
    description: 'HTML attribute escaping of `"` removed from the form_post resubmit page',
    file: 'packages/session/src/callback.ts',
    from: ".replaceAll('\"', '&quot;')",
    to: '',
    tests: ['packages/express/test/adapter.test.ts'],
  },
  {
    id: 'return-to-accepts-other-origin',
    description: 'returnTo accepts another origin (the origin check removed)',
    file: 'packages/session/src/return-to.ts',
    from: '  if (url.origin !== BASE) return undefined\n',
    to: '\n',
    tests: ['packages/session/test/units.test.ts'],
  },
  {
    id: 'mix-up-transaction-accepted',
    description:
      "a login transaction of another issuer/client/redirect_uri is accepted by this router's callback (mix-up)",
    file: 'packages/session/src/callback.ts',
    from: '    entry.issuer !== client.issuer ||\n    entry.clientId !== client.clientId ||\n    entry.transaction.redirect_uri !== client.redirectUri\n',
    to: '    false\n',
    tests: ['test/express-multi-issuer.test.ts'],
  },
  {
    id: 'backchannel-sid-sub-mismatch-accepted',
    description: 'a back-channel logout token whose sid belongs to another sub ends the session',
    file: 'packages/session/src/backchannel-logout.ts',
    from: 'if (user !== undefined && user.claims.sub !== sub) {',
    to: 'if (false) {',
    tests: ['packages/express/test/adapter.test.ts'],
  },
  {
    id: 'sealed-user-not-bound-to-session',
    description:
      'the sealed user record is not bound to its session id (it can be copied into another session)',
    file: 'packages/session/src/session-vault.ts',
    from: 'const userContext = (sid: string) => `user ${sessionKey} ${sid}`',
    to: 'const userContext = (_sid: string) => `user ${sessionKey}`',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'sealed-login-not-bound-to-session',
    description: 'the sealed login transaction is not bound to its session id',
    file: 'packages/session/src/session-vault.ts',
    from: 'const loginContext = (sid: string, state: string) => `login ${sessionKey} ${sid} ${state}`',
    to: 'const loginContext = (_sid: string, state: string) => `login ${sessionKey} ${state}`',
    tests: [...VAULT_TESTS],
  },
  {
    id: 'tampering-not-reported',
    description: 'a tampered sealed value is not reported to onTampered',
    file: 'packages/session/src/session-vault.ts',
    from: '      if (cipher.knowsKey(sealed)) options.onTampered?.(what)\n',
    to: '\n',
    tests: [...VAULT_TESTS],
  },
]
