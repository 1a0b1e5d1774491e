/**
 * Options of {@link createClient}, validated once by {@link resolveOptions}.
 */
import { assertSecureUrl, nonEmptyString, numberOption, optionalString } from '@codegrant/internal'
import type { CryptoKey, JWK } from 'jose'
import { resolveDpopOption, type DpopKey } from './dpop-key.js'

/**
 * How the client authenticates at the token, PAR, revocation and introspection endpoints.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'

/** Response modes supported for the authorization response. */
export type ResponseMode = 'query' | 'form_post'

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * The issuer identifier, an opaque URL compared exactly. `http:` only for loopback hosts
   * (`localhost`, `127.0.0.1`, `::1`); anything else must be `https:`.
   */
  issuer: string | URL
  /** The registered `client_id`. */
  clientId: string
  /** The client secret (`client_secret_basic`, `client_secret_post`, `client_secret_jwt`). */
  clientSecret?: string
  /**
   * How the client authenticates.
   *
   * @default 'client_secret_basic' when `clientSecret` is given, `'private_key_jwt'` when only
   * `privateKey` is given, else `'none'`
   */
  clientAuthMethod?: ClientAuthMethod
  /** `private_key_jwt`: a private JWK object, a PKCS#8 PEM string or a `CryptoKey`. */
  privateKey?: JWK | string | CryptoKey
  /** `kid` for the client assertion header. @default the JWK's `kid` */
  privateKeyId?: string
  /**
   * `aud` of client assertions (`client_secret_jwt`, `private_key_jwt`).
   *
   * @default 'issuer'
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  assertionAudience?: 'issuer' | 'token_endpoint'
  /** The exact registered `redirect_uri`, also sent to the token endpoint. No fragment, no query. */
  redirectUri: string
  /** The registered post-logout redirect URI. */
  postLogoutRedirectUri?: string
  /** The default scope of authorization requests. @default 'openid' */
  scope?: string
  /** Explicit authorization server metadata: skips discovery. Its `issuer` must equal `issuer`. */
  metadata?: Readonly<Record<string, unknown>>
  /** The registered ID token signing algorithm; any other `alg` is refused. @default 'RS256' */
  idTokenSignedResponseAlg?: string
  /** Clock tolerance, in seconds, for `exp`, `nbf`, `auth_time` checks. @default 5 */
  clockTolerance?: number
  /**
   * Milliseconds per request to the authorization server, from sending it to the last byte
   * of the response body. @default 5000
   */
  timeout?: number
  /**
   * The largest response body, in bytes, read from the authorization server (discovery, JWKS,
   * token, userinfo, introspection, revocation, PAR); a larger one fails with
   * `ERR_RESPONSE_TOO_LARGE` without being read further. @default 1048576 (1 MiB)
   */
  maxResponseSize?: number
  /** A `fetch` to use for every request to the AS (mTLS dispatcher, proxies, tests). */
  fetch?: typeof fetch
  /** Seconds a login transaction lives. @default 600 */
  transactionTtl?: number
  /**
   * Use Pushed Authorization Requests for every authorization request.
   *
   * @default false (PAR is still used when the AS metadata requires it)
   * @see https://www.rfc-editor.org/rfc/rfc9126
   */
  usePar?: boolean
  /** The default response mode. @default 'query' */
  responseMode?: ResponseMode
  /**
   * A DPoP key (from `createDpopKey()`): tokens are then sender-constrained to it.
   *
   * @see https://www.rfc-editor.org/rfc/rfc9449
   */
  dpop?: DpopKey
}

/** Validated, defaulted options. */
export interface ResolvedOptions {
  readonly issuer: string
  readonly issuerUrl: URL
  readonly loopback: boolean
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly clientAuthMethod: ClientAuthMethod
  readonly privateKey: JWK | string | CryptoKey | undefined
  readonly privateKeyId: string | undefined
  readonly assertionAudience: 'issuer' | 'token_endpoint'
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string | undefined
  readonly scope: string
  readonly metadata: Readonly<Record<string, unknown>> | undefined
  readonly idTokenSignedResponseAlg: string
  readonly clockTolerance: number
  readonly timeout: number
  readonly maxResponseSize: number
  readonly fetch: typeof fetch
  readonly transactionTtl: number
  readonly usePar: boolean
  readonly responseMode: ResponseMode
  readonly dpop: DpopKey | undefined
}

/** Default {@link ClientOptions.maxResponseSize}: 1 MiB. */
export const DEFAULT_MAX_RESPONSE_SIZE = 1_048_576

const AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
  'tls_client_auth',
  'self_signed_tls_client_auth',
]

function parseUrl(value: unknown, name: string): URL {
  let url: URL
  try {
    url = value instanceof URL ? new URL(value.href) : new URL(nonEmptyString(value, name))
  } catch (err) {
    if (err instanceof TypeError && err.message.startsWith('"')) throw err
    throw new TypeError(`"${name}" must be an absolute URL`)
  }
  return url
}

/**
 * Validates {@link ClientOptions} once, applies defaults and freezes the result.
 *
 * @throws TypeError naming the offending option
 */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('"options" must be an object')
  }
  const issuerUrl = parseUrl(options.issuer, 'issuer')
  assertSecureUrl(issuerUrl, 'issuer')
  if (issuerUrl.search || issuerUrl.hash) {
    throw new TypeError('"issuer" must not contain a query or fragment')
  }
  const issuer = typeof options.issuer === 'string' ? options.issuer : options.issuer.href
  const clientId = nonEmptyString(options.clientId, 'clientId')
  const clientSecret = optionalString(options.clientSecret, 'clientSecret')

  const privateKey = options.privateKey
  if (
    privateKey !== undefined &&
    typeof privateKey !== 'string' &&
    (typeof privateKey !== 'object' || privateKey === null)
  ) {
    throw new TypeError('"privateKey" must be a JWK object, a PEM string or a CryptoKey')
  }
  const clientAuthMethod =
    options.clientAuthMethod ??
    (clientSecret !== undefined
      ? 'client_secret_basic'
      : privateKey !== undefined
        ? 'private_key_jwt'
        : 'none')
  if (!AUTH_METHODS.includes(clientAuthMethod)) {
    throw new TypeError(`"clientAuthMethod" must be one of ${AUTH_METHODS.join(', ')}`)
  }
  if (
    (clientAuthMethod === 'client_secret_basic' ||
      clientAuthMethod === 'client_secret_post' ||
      clientAuthMethod === 'client_secret_jwt') &&
    clientSecret === undefined
  ) {
    throw new TypeError(`"clientSecret" is required for "clientAuthMethod" ${clientAuthMethod}`)
  }
  if (clientAuthMethod === 'private_key_jwt' && privateKey === undefined) {
    throw new TypeError('"privateKey" is required for "clientAuthMethod" private_key_jwt')
  }
  const assertionAudience = options.assertionAudience ?? 'issuer'
  if (assertionAudience !== 'issuer' && assertionAudience !== 'token_endpoint') {
    throw new TypeError('"assertionAudience" must be "issuer" or "token_endpoint"')
  }

  const redirectUri = nonEmptyString(options.redirectUri, 'redirectUri')
  const redirectUrl = parseUrl(redirectUri, 'redirectUri')
  if (redirectUrl.hash || redirectUri.includes('#')) {
    throw new TypeError('"redirectUri" must not contain a fragment')
  }
  // openid-client rebuilds redirect_uri from the callback URL with its query stripped, so a
  // registered value with a query could never be sent exactly: refuse it up front.
  if (redirectUrl.search || redirectUri.includes('?')) {
    throw new TypeError('"redirectUri" must not contain a query string')
  }
  if (redirectUrl.href !== redirectUri) {
    // openid-client sends the redirect_uri as the URL parser prints it: a value that does not
    // round-trip would reach the token endpoint different from the registered one.
    throw new TypeError(
      '"redirectUri" must be a normalised absolute URL (as the URL parser prints it)',
    )
  }
  const postLogoutRedirectUri = optionalString(
    options.postLogoutRedirectUri,
    'postLogoutRedirectUri',
  )
  if (postLogoutRedirectUri !== undefined) parseUrl(postLogoutRedirectUri, 'postLogoutRedirectUri')

  const scope = options.scope === undefined ? 'openid' : nonEmptyString(options.scope, 'scope')
  const metadata = options.metadata
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) {
    throw new TypeError('"metadata" must be an object')
  }
  const idTokenSignedResponseAlg =
    options.idTokenSignedResponseAlg === undefined
      ? 'RS256'
      : nonEmptyString(options.idTokenSignedResponseAlg, 'idTokenSignedResponseAlg')
  if (idTokenSignedResponseAlg === 'none' || idTokenSignedResponseAlg.startsWith('HS')) {
    throw new TypeError('"idTokenSignedResponseAlg" must be an asymmetric JWS algorithm')
  }
  const clockTolerance = numberOption(options.clockTolerance, 'clockTolerance', 5, { min: 0 })
  const timeout = numberOption(options.timeout, 'timeout', 5000, { above: 0 })
  const maxResponseSize = numberOption(
    options.maxResponseSize,
    'maxResponseSize',
    DEFAULT_MAX_RESPONSE_SIZE,
    {
      above: 0,
    },
  )
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new TypeError('"fetch" must be a function')
  }
  const transactionTtl = numberOption(options.transactionTtl, 'transactionTtl', 600, { above: 0 })
  if (options.usePar !== undefined && typeof options.usePar !== 'boolean') {
    throw new TypeError('"usePar" must be a boolean')
  }
  const responseMode = options.responseMode ?? 'query'
  if (responseMode !== 'query' && responseMode !== 'form_post') {
    throw new TypeError('"responseMode" must be "query" or "form_post"')
  }

  return Object.freeze({
    issuer,
    issuerUrl,
    loopback: issuerUrl.protocol === 'http:',
    clientId,
    clientSecret,
    clientAuthMethod,
    privateKey,
    privateKeyId: optionalString(options.privateKeyId, 'privateKeyId'),
    assertionAudience,
    redirectUri,
    postLogoutRedirectUri,
    scope,
    metadata,
    idTokenSignedResponseAlg,
    clockTolerance,
    timeout,
    maxResponseSize,
    fetch:
      options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init)),
    transactionTtl,
    usePar: options.usePar ?? false,
    responseMode,
    dpop: resolveDpopOption(options.dpop),
  })
}
