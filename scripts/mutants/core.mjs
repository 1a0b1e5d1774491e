// @codegrant/core: the callback checks, ID token validation, refresh coordination, client
// authentication, option checks (loopback, algorithms), response limits and error mapping.
// Run by scripts/mutants.mjs (`pnpm mutants core`); the fields are described there.

const CALLBACK = ['packages/core/test/callback.test.ts']
const ID_TOKEN = ['packages/core/test/id-token.test.ts', 'packages/core/test/callback.test.ts']
const REFRESH = [
  'packages/core/test/refresh.test.ts',
  'packages/core/test/refresh-parameters.test.ts',
]
// isLoopbackHost and the safe error code live in @codegrant/internal, which core inlines.
const LOOPBACK = ['packages/internal/test/loopback.test.ts', 'packages/core/test/loopback.test.ts']
const MAP_ERROR = [
  'packages/core/test/map-error.test.ts',
  'packages/core/test/error-messages.test.ts',
]

/** @type {import('../mutants.mjs').Mutant[]} */
export default [
  {
    id: 'transaction-expiry-ignored',
    description: 'an expired login transaction is still completed',
    file: 'packages/core/src/callback.ts',
    from: 'if (Date.now() / 1000 >= transaction.expires_at) {',
    to: 'if (false) {',
    tests: CALLBACK,
  },
  {
    id: 'state-not-compared',
    description: 'the callback state is not compared with the transaction (only its presence)',
    file: 'packages/core/src/callback.ts',
    from: 'if (state === null || state !== transaction.state) {',
    to: 'if (state === null) {',
    tests: CALLBACK,
  },
  {
    id: 'iss-mismatch-accepted',
    description: 'a callback `iss` of another issuer is accepted (RFC 9207 mix-up defence off)',
    file: 'packages/core/src/callback.ts',
    from: 'if (iss !== null && iss !== client.issuer) {',
    to: 'if (false) {',
    tests: CALLBACK,
  },
  {
    id: 'iss-required-ignored',
    description: 'a callback without `iss` is accepted although the metadata advertises it',
    file: 'packages/core/src/callback.ts',
    from: 'if (iss === null && client.metadata.authorization_response_iss_parameter_supported === true) {',
    to: 'if (false) {',
    tests: CALLBACK,
  },
  {
    id: 'as-error-echoed',
    description: "the AS's `error` string is echoed unfiltered into the message",
    file: 'packages/core/src/callback.ts',
    from: "${isSafeErrorCode(error) ? error : 'an error'}",
    to: '${error}',
    tests: CALLBACK,
  },
  {
    id: 'repeated-parameter-accepted',
    description: 'a callback parameter given twice is accepted (RFC 6749 3.1)',
    file: 'packages/core/src/callback.ts',
    from: 'if (params.getAll(key).length > 1) throw invalid(`the callback parameter "${key}" is repeated`)',
    to: '',
    tests: CALLBACK,
  },
  {
    id: 'redirect-uri-from-request',
    description:
      'the token request redirect_uri is rebuilt from the callback request URL (host, port, proxy) instead of the transaction',
    file: 'packages/core/src/callback.ts',
    from: 'const currentUrl = new URL(transaction.redirect_uri)\n',
    to: "const currentUrl = new URL(typeof input === 'string' || input instanceof URL ? input : transaction.redirect_uri, transaction.redirect_uri)\n  currentUrl.search = ''\n",
    tests: CALLBACK,
  },
  {
    id: 'nonce-not-checked',
    description: 'the transaction nonce is not passed to the ID token check',
    file: 'packages/core/src/callback.ts',
    from: '        ...(transaction.nonce !== undefined && { expectedNonce: transaction.nonce }),\n',
    to: '',
    tests: CALLBACK,
  },
  {
    id: 'max-age-not-checked',
    description:
      'the transaction max_age is not passed to the ID token check (auth_time unchecked)',
    file: 'packages/core/src/callback.ts',
    from: '        ...(transaction.max_age !== undefined && { maxAge: transaction.max_age }),\n',
    to: '',
    tests: CALLBACK,
  },
  {
    id: 'id-token-not-required',
    description: 'a token response without id_token is accepted when `openid` was asked',
    file: 'packages/core/src/callback.ts',
    from: 'idTokenExpected: openidScope,',
    to: 'idTokenExpected: false,',
    tests: [...CALLBACK, 'packages/core/test/callback-id-token.test.ts'],
  },
  {
    id: 'bad-signature-ignored',
    description: 'an ID token with a bad signature is accepted',
    file: 'packages/core/src/id-token.ts',
    from: "if (err instanceof joseErrors.JWSSignatureVerificationFailed) {\n      throw refused(context, 'bad signature', err)",
    to: 'if (err instanceof joseErrors.JWSSignatureVerificationFailed) {\n      return',
    tests: ID_TOKEN,
  },
  {
    id: 'id-token-any-alg',
    description:
      'the ID token signature is verified with any algorithm the key allows, not only the registered one. Equivalent: openid-client (oauth4webapi) refuses a header `alg` other than the client metadata `id_token_signed_response_alg`, which createClient sets (client.test.ts), before jose runs; refused algorithms are tested in callback.test.ts (none, HS256)',
    equivalent: true,
    file: 'packages/core/src/id-token.ts',
    from: '      algorithms: [settings.idTokenSignedResponseAlg],\n',
    to: '',
    tests: ID_TOKEN,
  },
  {
    id: 'azp-not-checked',
    description: 'an ID token `azp` that is not our client_id is accepted (single audience)',
    file: 'packages/core/src/id-token.ts',
    from: 'if (payload.azp !== undefined && payload.azp !== settings.clientId) {',
    to: 'if (false) {',
    tests: ID_TOKEN,
  },
  {
    id: 'future-iat-tolerance-widened',
    description:
      'the future-`iat` tolerance widened to at least 5 minutes (the old test, 1 h ahead, still passes)',
    file: 'packages/core/src/id-token.ts',
    from: 'payload.iat > now + settings.clockTolerance)',
    to: 'payload.iat > now + Math.max(settings.clockTolerance, 300))',
    tests: [...ID_TOKEN, 'packages/core/test/id-token-claims.test.ts'],
  },
  {
    id: 'grace-hands-out-expired-set',
    description:
      'the refresh grace window hands out a kept set whose access token expired (or is within the margin)',
    file: 'packages/core/src/refresh.ts',
    from: '(options.force === true || !stillFresh(existing, now, margin))',
    to: 'options.force === true',
    tests: REFRESH,
  },
  {
    id: 'grace-margin-ignored',
    description: 'the refresh margin is ignored: a kept set about to expire is handed out',
    file: 'packages/core/src/refresh.ts',
    from: 'return now / 1000 < flight.expiresAt - Math.min(margin, lifetime / 2)',
    to: 'return now / 1000 < flight.expiresAt',
    tests: REFRESH,
  },
  {
    id: 'grace-shared-across-parameters',
    description:
      'a refresh with another scope/resource is handed the kept result of a different request',
    file: 'packages/core/src/refresh.ts',
    from: 'if (existing.parameters === parameters.toString()) return copy(await existing.promise)',
    to: 'return copy(await existing.promise)',
    tests: REFRESH,
  },
  {
    id: 'refresh-id-token-unverified',
    description: 'a new ID token at refresh is not verified (signature, azp, iat)',
    file: 'packages/core/src/refresh.ts',
    from: "  await verifyIdToken(client, response, 'refresh')\n",
    to: '',
    tests: [...REFRESH, 'packages/core/test/id-token.test.ts'],
  },
  {
    id: 'refresh-sub-change-accepted',
    description: 'a new ID token at refresh with another `sub` is accepted',
    file: 'packages/core/src/refresh.ts',
    from: 'if (previousSub !== claims.sub) {',
    to: 'if (false) {',
    tests: REFRESH,
  },
  {
    id: 'basic-auth-escapes-dash',
    description:
      'client_secret_basic percent-encodes `-` and `~` (`web%2Dapp`, refused by servers that do not decode)',
    file: 'packages/core/src/client-auth.ts',
    from: "/[!'()*]|%20/g",
    to: "/[!'()*~-]|%20/g",
    tests: ['packages/core/test/client-auth.test.ts'],
  },
  {
    id: 'basic-auth-space-not-plus',
    description: 'client_secret_basic encodes a space as %20, not `+` (form encoding)',
    file: 'packages/core/src/client-auth.ts',
    from: "match === '%20' ? '+'",
    to: "match === '%20' ? '%20'",
    tests: ['packages/core/test/client-auth.test.ts'],
  },
  {
    id: 'assertion-aud-always-token-endpoint',
    description:
      'client assertions get `aud` = token endpoint even when `assertionAudience` is issuer',
    file: 'packages/core/src/client-auth.ts',
    from: "if (options.assertionAudience === 'token_endpoint' && as.token_endpoint) {",
    to: 'if (as.token_endpoint) {',
    tests: ['packages/core/test/client-auth.test.ts'],
  },
  {
    id: 'loopback-prefix-127',
    description:
      'isLoopbackHost accepts any name starting with 127 (`127.evil.com`), so plain http is allowed to it',
    file: 'packages/internal/src/loopback.ts',
    from: "if (isIPv4(host)) return host.startsWith('127.')",
    to: "if (host.startsWith('127')) return true",
    tests: LOOPBACK,
  },
  {
    id: 'loopback-any-localhost-suffix',
    description: 'isLoopbackHost accepts `*.localhost` (a resolver may send it to DNS)',
    file: 'packages/internal/src/loopback.ts',
    from: "if (host === 'localhost') return true",
    to: "if (host.endsWith('localhost')) return true",
    tests: LOOPBACK,
  },
  {
    id: 'symmetric-id-token-alg-allowed',
    description:
      '"idTokenSignedResponseAlg" accepts HS256 (an ID token MACed with the client secret)',
    file: 'packages/core/src/options.ts',
    from: "if (idTokenSignedResponseAlg === 'none' || idTokenSignedResponseAlg.startsWith('HS')) {",
    to: "if (idTokenSignedResponseAlg === 'none') {",
    tests: [
      'packages/core/test/options.test.ts',
      'packages/core/test/client.test.ts',
      'packages/core/test/callback.test.ts',
    ],
  },
  {
    id: 'response-size-limit-off',
    description: 'the default response size limit is off (an AS body of any size is read)',
    file: 'packages/core/src/options.ts',
    from: 'export const DEFAULT_MAX_RESPONSE_SIZE = 1_048_576',
    to: 'export const DEFAULT_MAX_RESPONSE_SIZE = Number.POSITIVE_INFINITY',
    tests: [
      'packages/core/test/options.test.ts',
      'test/core-response-limits.test.ts',
      'packages/core/test/client.test.ts',
    ],
  },
  {
    id: 'streamed-size-limit-off',
    description: 'a body without Content-Length is read past "maxResponseSize"',
    file: 'packages/core/src/http.ts',
    from: '        if (read > maxBytes) {',
    to: '        if (false) {',
    tests: ['test/core-response-limits.test.ts'],
  },
  {
    id: 'invalid-grant-not-recognised',
    description:
      'a token endpoint `invalid_grant` is mapped to ERR_TOKEN_ERROR (the adapter then keeps a dead session)',
    file: 'packages/core/src/map-error.ts',
    from: "details.error === 'invalid_grant' ? 'ERR_INVALID_GRANT' : 'ERR_TOKEN_ERROR'",
    to: "'ERR_TOKEN_ERROR'",
    tests: MAP_ERROR,
  },
  {
    id: 'token-error-echoed',
    description: 'a token endpoint `error` that is not a plain code is echoed into the message',
    file: 'packages/internal/src/error-code.ts',
    from: 'const SAFE_ERROR_CODE = /^[\\w.:-]{1,64}$/',
    to: 'const SAFE_ERROR_CODE = /^/',
    tests: [
      ...MAP_ERROR,
      'packages/core/test/map-error-echo.test.ts',
      'packages/internal/test/small-rules.test.ts',
    ],
  },
  {
    id: 'invalid-client-not-client-auth',
    description:
      'a token endpoint `invalid_client` is not ERR_CLIENT_AUTH_REFUSED (a 401 to the user instead of a 500)',
    file: 'packages/core/src/map-error.ts',
    from: "    if (details.error === 'invalid_client') {\n      return clientAuthRefused(context, request, details, err)\n    }\n",
    to: '',
    tests: MAP_ERROR,
  },
]
