// @codegrant/resource-server: introspection, token extraction, key sizes, issuer and audience
// checks, `typ`, the DPoP replay cache and store, the resource-metadata challenge.
// Run by scripts/mutants.mjs (`pnpm mutants resource-server`); the fields are described there.

/** @type {import('../mutants.mjs').Mutant[]} */
export default [
  {
    id: 'introspection-string-active',
    description:
      'introspection `active: "true"` (a string) treated as active. Equivalent since introspection is openid-client\'s tokenIntrospection: oauth4webapi refuses an `active` that is not a boolean before our check runs; regressions.test.ts pins the refusal (string, number, null)',
    equivalent: true,
    file: 'packages/resource-server/src/introspection.ts',
    from: 'if (response.active !== true)',
    to: "if (response.active !== true && response.active !== 'true')",
    tests: [
      'packages/resource-server/test/regressions.test.ts',
      'packages/resource-server/test/introspection.test.ts',
    ],
  },
  {
    id: 'extract-echoes-access-token',
    description: 'the error description echoes the malformed access_token value',
    file: 'packages/resource-server/src/extract.ts',
    from: "if (!B64TOKEN.test(value)) throw invalidRequest('The access_token parameter is malformed')",
    to: 'if (!B64TOKEN.test(value)) throw invalidRequest(`The access_token parameter is malformed: ${value}`)',
    tests: [
      'packages/resource-server/test/regressions.test.ts',
      'packages/resource-server/test/extract.test.ts',
    ],
  },
  {
    id: 'rsa-under-2048',
    description: 'RSA keys under 2048 bits accepted',
    file: 'packages/resource-server/src/algorithms.ts',
    from: "if (type === 'rsa') {\n    if ((details?.modulusLength ?? 0) < 2048) return out",
    to: "if (type === 'rsa') {\n    if ((details?.modulusLength ?? 0) < 1024) return out",
    tests: ['packages/resource-server/test/regressions.test.ts'],
  },
  {
    id: 'rsa-pss-under-2048',
    description: 'RSA-PSS keys under 2048 bits accepted',
    file: 'packages/resource-server/src/algorithms.ts',
    from: "} else if (type === 'rsa-pss') {\n    // An RSA-PSS key cannot do PKCS#1 v1.5; its own parameters are enforced by node:crypto.\n    if ((details?.modulusLength ?? 0) < 2048) return out",
    to: "} else if (type === 'rsa-pss') {\n    if ((details?.modulusLength ?? 0) < 1024) return out",
    tests: ['packages/resource-server/test/regressions.test.ts'],
  },
  {
    id: 'unknown-iss-falls-back-to-first-issuer',
    description: 'a token with an unknown iss is checked against the first configured issuer',
    file: 'packages/resource-server/src/verifier.ts',
    from: '(claims.iss === undefined && state.issuers.length === 1 ? state.issuers[0] : undefined)',
    to: 'state.issuers[0]',
    tests: ['packages/resource-server/test/issuers.test.ts'],
  },
  {
    id: 'missing-iss-accepted',
    description: 'a JWT without iss is accepted',
    file: 'packages/resource-server/src/verifier.ts',
    from: '  checkType(header, options)\n  if (claims.iss === undefined)\n    throw',
    to: '  checkType(header, options)\n  if (claims.iss === null)\n    throw',
    tests: [
      'packages/resource-server/test/verifier-jwt.test.ts',
      'packages/resource-server/test/issuers.test.ts',
    ],
  },
  {
    id: 'issuer-compared-without-normalising',
    description: 'the issuer is never matched (comparison replaced by false)',
    file: 'packages/resource-server/src/options.ts',
    from: 'return a !== undefined && a === normalizeIssuer(expected)',
    to: 'return false',
    tests: ['packages/resource-server/test/issuers.test.ts'],
  },
  {
    id: 'audience-not-checked',
    description: 'aud is not checked',
    file: 'packages/resource-server/src/jwt-checks.ts',
    from: "if (!audienceMatches(claims.aud, options.audiences)) throw claimError('aud')",
    to: '',
    tests: [
      'packages/resource-server/test/issuers.test.ts',
      'packages/resource-server/test/verifier-jwt.test.ts',
    ],
  },
  {
    id: 'strict-type-ignored',
    description: 'strictType ignored: a JWT without typ at+jwt accepted',
    file: 'packages/resource-server/src/jwt-checks.ts',
    from: 'if (!isAccessTokenType(header.typ, options.strictType))',
    to: 'if (!isAccessTokenType(header.typ, false))',
    tests: ['packages/resource-server/test/regressions.test.ts'],
  },
  {
    id: 'typ-never-checked',
    description: 'the JWT typ header is never checked (an ID token passes as an access token)',
    file: 'packages/resource-server/src/verifier.ts',
    from: '  checkType(header, options)\n',
    to: '',
    tests: [
      'packages/resource-server/test/verifier-jwt.test.ts',
      'packages/resource-server/test/regressions.test.ts',
    ],
  },
  {
    id: 'replay-evicts-the-newcomer-not-the-largest',
    description:
      'the full DPoP replay cache evicts the oldest entry instead of the largest-iat one',
    file: 'packages/resource-server/src/dpop.ts',
    from: '      const largest = this.largestKey()',
    to: '      const largest = this.current.keys().next().value',
    tests: ['packages/resource-server/test/dpop.test.ts'],
  },
  {
    id: 'replay-eviction-mark-ignored',
    description:
      'a proof older than the eviction mark is accepted after eviction (replay window reopened)',
    file: 'packages/resource-server/src/dpop.ts',
    from: "if (mark !== undefined && iat <= mark) return 'full'",
    to: '',
    tests: ['packages/resource-server/test/dpop.test.ts'],
  },
  {
    id: 'replay-store-miss-treated-as-new',
    description: "a replay store answer 'seen' is treated as new (replay accepted)",
    file: 'packages/resource-server/src/dpop.ts',
    from: "(isNew) => (isNew === true ? 'ok' : 'replayed')",
    to: "() => 'ok'",
    tests: ['packages/resource-server/test/replay-store.test.ts'],
  },
  {
    id: 'replay-store-failure-accepted',
    description: 'a failing replay store lets the proof through (fail open)',
    file: 'packages/resource-server/src/dpop.ts',
    from: '(cause: unknown) => Promise.reject(storeUnavailable(cause, this.options)),',
    to: "() => 'ok' as const,",
    tests: ['packages/resource-server/test/replay-store.test.ts'],
  },
  {
    id: 'challenge-without-resource-metadata',
    description: 'the WWW-Authenticate challenge lacks resource_metadata',
    file: 'packages/resource-server/src/verifier.ts',
    from: 'return url === undefined ? err : withResourceMetadata(err, url)',
    to: 'return err',
    tests: ['packages/resource-server/test/resource-metadata.test.ts'],
  },
  {
    id: 'guard-scopes-not-registered',
    description: "a guard's scopes are not registered in the protected resource metadata",
    file: 'packages/resource-server/src/verifier.ts',
    from: 'if (resolved !== undefined) this.register(resolved.scopes)',
    to: '',
    tests: ['packages/resource-server/test/resource-metadata.test.ts'],
  },
  {
    id: 'issuer-mismatch-silent',
    description: 'a discovery issuer mismatch is not reported to the logger',
    file: 'packages/resource-server/src/discovery.ts',
    from: '      warn(\n        options,\n        err.code,',
    // (The old `void (...)` form did not parse: a trailing comma in parentheses.)
    to: "      if (err.code !== 'ERR_ISSUER_MISMATCH') warn(\n        options,\n        err.code,",
    tests: ['packages/resource-server/test/issuers.test.ts'],
  },
]
