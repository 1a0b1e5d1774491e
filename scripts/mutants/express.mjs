// @codegrant/express: multi-router `req.auth`. The engine's mutants (vault, callback, returnTo,
// back-channel logout) are in session.mjs since that code moved to @codegrant/session.
// Run by scripts/mutants.mjs (`pnpm mutants express`); the fields are described there.

/** @type {import('../mutants.mjs').Mutant[]} */
export default [
  {
    id: 'req-auth-overwritten-by-last-router',
    description: 'a later router overwrites req.auth of a user that is not its own',
    file: 'packages/express/src/auth.ts',
    from: '    if (!holdsOwnUser(ctx, session)) return\n',
    to: '\n',
    tests: ['test/express-multi-issuer.test.ts'],
  },
]
