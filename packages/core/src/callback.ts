import { isSafeErrorCode } from '@codegrant/internal'
import * as openid from 'openid-client'
import { clientAuthContext, getConfiguration, type Client } from './client.js'
import { dpopOptions } from './dpop.js'
import { CodegrantError } from './errors.js'
import { toClaims, verifyIdToken } from './id-token.js'
import { toCodegrantError } from './map-error.js'
import { toTokenSet } from './token-set.js'
import type { IdTokenClaims, LoginTransaction, TokenSet } from './types.js'

/**
 * The authorization response: the full callback URL (or its path and query, as Express's
 * `req.originalUrl`) for `query`, or the POSTed body for `form_post`.
 */
export type CallbackInput = URL | string | { body: URLSearchParams | Record<string, unknown> }

/** The outcome of a login: the tokens, and the validated ID token claims when `openid` was asked. */
export interface CallbackResult {
  tokens: TokenSet
  claims?: IdTokenClaims
}

function assertTransaction(value: unknown): asserts value is LoginTransaction {
  const t = value as Partial<LoginTransaction> | null
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.state !== 'string' ||
    typeof t.code_verifier !== 'string' ||
    typeof t.redirect_uri !== 'string' ||
    typeof t.scope !== 'string' ||
    typeof t.expires_at !== 'number' ||
    (t.nonce !== undefined && typeof t.nonce !== 'string') ||
    (t.response_mode !== 'query' && t.response_mode !== 'form_post')
  ) {
    throw new TypeError(
      '"transaction" must be a LoginTransaction from createAuthorizationRequest()',
    )
  }
}

function invalid(message: string): CodegrantError {
  return new CodegrantError('ERR_CALLBACK_INVALID', message)
}

/** Reads the response parameters; a parameter given twice is refused (RFC 6749 3.1). */
function readParams(input: CallbackInput, transaction: LoginTransaction): URLSearchParams {
  let params: URLSearchParams
  if (typeof input === 'object' && input !== null && !(input instanceof URL) && 'body' in input) {
    if (transaction.response_mode !== 'form_post') {
      throw invalid('a form_post callback answers a query-mode transaction')
    }
    const body = input.body
    if (body instanceof URLSearchParams) {
      params = body
    } else if (typeof body === 'object' && body !== null) {
      params = new URLSearchParams()
      for (const [key, value] of Object.entries(body)) {
        if (typeof value !== 'string')
          throw invalid(`the callback parameter "${key}" is not a single string`)
        params.append(key, value)
      }
    } else {
      throw invalid('the callback body is not a form')
    }
  } else if (typeof input === 'string' || input instanceof URL) {
    if (transaction.response_mode !== 'query') {
      throw invalid('a query callback answers a form_post transaction')
    }
    try {
      params = new URL(input, transaction.redirect_uri).searchParams
    } catch {
      throw invalid('the callback URL cannot be parsed')
    }
  } else {
    throw new TypeError('"input" must be a URL, a string or { body }')
  }
  for (const key of new Set(params.keys())) {
    if (params.getAll(key).length > 1) throw invalid(`the callback parameter "${key}" is repeated`)
  }
  return params
}

/**
 * Completes a login: checks the authorization response against the transaction, exchanges
 * the code (with the PKCE verifier and exactly the transaction's `redirect_uri`) and
 * validates the ID token fully, signature included.
 *
 * Order of checks: transaction expiry first; then `state` (before `error`, so that an
 * attacker cannot inject an error response into someone else's login, RFC 9700 4.7); then
 * the RFC 9207 `iss` (required when the metadata advertises
 * `authorization_response_iss_parameter_supported`, compared whenever present); then
 * `error`; then the code exchange.
 *
 * @throws CodegrantError `ERR_TRANSACTION_EXPIRED`, `ERR_STATE_MISMATCH`, `ERR_ISS_MISMATCH`,
 *   `ERR_AUTHORIZATION_ERROR`, `ERR_CALLBACK_INVALID`, `ERR_TOKEN_ERROR`, `ERR_INVALID_GRANT`,
 *   `ERR_ID_TOKEN_MISSING`, `ERR_ID_TOKEN_INVALID`, `ERR_TOKEN_TYPE_UNSUPPORTED`,
 *   `ERR_RESPONSE_INVALID`, `ERR_TIMEOUT`, `ERR_NETWORK`
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export async function handleCallback(
  client: Client,
  input: CallbackInput,
  transaction: LoginTransaction,
): Promise<CallbackResult> {
  const config = getConfiguration(client)
  assertTransaction(transaction)
  if (Date.now() / 1000 >= transaction.expires_at) {
    throw new CodegrantError('ERR_TRANSACTION_EXPIRED', 'the login transaction has expired')
  }
  const params = readParams(input, transaction)

  const state = params.get('state')
  if (state === null || state !== transaction.state) {
    throw new CodegrantError(
      'ERR_STATE_MISMATCH',
      state === null
        ? 'the callback has no state'
        : 'the callback state does not match the transaction',
    )
  }
  const iss = params.get('iss')
  if (iss === null && client.metadata.authorization_response_iss_parameter_supported === true) {
    throw new CodegrantError('ERR_ISS_MISMATCH', 'the callback has no "iss" parameter (RFC 9207)')
  }
  if (iss !== null && iss !== client.issuer) {
    throw new CodegrantError('ERR_ISS_MISMATCH', 'the callback "iss" is not the expected issuer')
  }
  const error = params.get('error')
  if (error !== null) {
    const description = params.get('error_description')
    throw new CodegrantError(
      'ERR_AUTHORIZATION_ERROR',
      `the authorization server answered ${isSafeErrorCode(error) ? error : 'an error'}`,
      { error, ...(description !== null && { error_description: description }) },
    )
  }
  if (!params.get('code')) throw invalid('the callback has no code')

  // openid-client sends as redirect_uri the callback URL without its query (openid-client
  // #868): rebuild that URL from the transaction's redirect_uri, so the exact registered
  // value reaches the token endpoint whatever host, port or proxy the callback came through.
  const currentUrl = new URL(transaction.redirect_uri)
  for (const [key, value] of params) currentUrl.searchParams.append(key, value)
  const openidScope = transaction.scope.split(' ').includes('openid')
  const tokenParams = new URLSearchParams()
  for (const value of transaction.resource ?? []) tokenParams.append('resource', value)

  let response: openid.TokenEndpointResponse & openid.TokenEndpointResponseHelpers
  try {
    response = await openid.authorizationCodeGrant(
      config,
      currentUrl,
      {
        pkceCodeVerifier: transaction.code_verifier,
        expectedState: transaction.state,
        ...(transaction.nonce !== undefined && { expectedNonce: transaction.nonce }),
        ...(transaction.max_age !== undefined && { maxAge: transaction.max_age }),
        idTokenExpected: openidScope,
      },
      tokenParams,
      await dpopOptions(client),
    )
  } catch (err) {
    throw toCodegrantError(err, 'code exchange', clientAuthContext(client))
  }
  await verifyIdToken(client, response, 'code exchange')
  const tokens = toTokenSet(response)
  const claims = toClaims(response)
  return claims === undefined ? { tokens } : { tokens, claims }
}
