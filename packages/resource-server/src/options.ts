import { createSecretKey, type KeyObject } from 'node:crypto'
import {
  assertSecureUrl,
  booleanOption,
  fail,
  nonEmptyString,
  numberOption,
  optionalString,
} from '@codegrant/internal'
import type { JWK } from 'jose'
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS } from './algorithms.js'
import type { ReplayStore } from './replay-store.js'

/** A required claim value, or a predicate over the claim (see {@link Requirements.claims}). */
export type ClaimMatcher =
  | string
  | number
  | boolean
  | ((value: unknown, claims: Readonly<Record<string, unknown>>) => boolean)

/**
 * What a verified token must also grant. Used by {@link VerifierOptions} (every request) and by
 * `checkAccess()` (per route).
 */
export interface Requirements {
  /** Scopes the token must carry (see {@link scopeMode}). */
  scopes?: string | readonly string[]
  /** `'all'`: every scope in {@link scopes} is needed; `'any'`: one is enough. @default 'all' */
  scopeMode?: 'all' | 'any'
  /**
   * Claims that must hold: a string, number or boolean must equal the claim (or be one of its
   * elements when the claim is an array); a function gets the claim value and must return true.
   * A failure answers 403.
   */
  claims?: Readonly<Record<string, ClaimMatcher>>
  /**
   * RFC 9470 step-up: the token's `acr` must be one of these, else 401
   * `insufficient_user_authentication` with `acr_values`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc9470#section-3
   */
  acrValues?: readonly string[]
  /**
   * RFC 9470 step-up: seconds since the user last authenticated (`auth_time`), else 401
   * `insufficient_user_authentication` with `max_age`.
   */
  maxAuthAge?: number
}

/** How the resource server authenticates at the introspection endpoint. */
export interface IntrospectionOptions {
  /** The resource server's `client_id` at the AS. */
  clientId: string
  /** Its secret (`client_secret_basic`, `client_secret_post`). */
  clientSecret?: string
  /**
   * Client authentication method.
   *
   * @default 'client_secret_basic' with a secret, 'private_key_jwt' with a private key
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
   */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  /** `private_key_jwt`: a private JWK or a PKCS#8 PEM string. */
  privateKey?: JWK | string
  /** `private_key_jwt`: the signing algorithm. @default 'RS256' (ES256 for EC JWKs) */
  privateKeyAlg?: string
  /** The introspection endpoint. @default the discovered `introspection_endpoint` */
  endpoint?: string | URL
  /** Introspect JWTs too, instead of verifying them locally. @default false */
  allTokens?: boolean
  /** Longest time, in seconds, an active result is reused (never beyond `exp`). @default 30 */
  cacheTtl?: number
  /** Seconds an inactive result is remembered. @default 5 */
  negativeCacheTtl?: number
}

/** DPoP settings. DPoP-bound tokens are always checked; these tune how. */
export interface DpopOptions {
  /** Accept only DPoP-bound tokens. @default false */
  required?: boolean
  /** Proof algorithms accepted. @default the asymmetric algorithms */
  algorithms?: readonly string[]
  /** Seconds a proof's `iat` may lie in the past (and `clockTolerance` ahead). @default 300 */
  proofMaxAge?: number
  /**
   * A secret (at least 32 bytes) from which time-based server nonces are derived; with it every
   * proof must carry a current nonce (RFC 9449 §8). Share it across instances.
   */
  nonceSecret?: string | Uint8Array
  /** Seconds each nonce lasts (the previous one is accepted too). @default 60 */
  nonceLifetime?: number
  /**
   * Where proof `jti`s are remembered across instances (see `createRedisReplayStore()`): one
   * `SET NX PX` per proof. When it fails, proofs are refused with 503 (fail closed).
   *
   * @default an in-process cache (one instance only)
   */
  replayStore?: ReplayStore
  /**
   * In-process cache: the most proof `jti`s remembered in all. A `jti` is kept for the proof
   * window (`proofMaxAge` + 2 x `clockTolerance`), up to twice that.
   *
   * @default 500000
   */
  replayCacheMaxEntries?: number
  /**
   * In-process cache: the most `jti`s remembered for one key (one `cnf.jkt`). A key that reaches
   * it, or the key with most entries when the whole cache is full, has its entries dropped and
   * its proofs issued before that moment refused, so a flooding client never locks others out.
   *
   * @default 100 proofs a second for the remembered span (2 x the proof window), at most
   *   `replayCacheMaxEntries`: 62000 with the default window
   */
  replayCacheMaxEntriesPerKey?: number
}

/** One trusted authorization server, when its discovery or keys are not at the issuer URL. */
export interface IssuerOptions {
  /** The expected `iss` (compared as a URL: `https://as.example` and `https://as.example/` agree). */
  issuer: string
  /** Its metadata URL. @default `${issuer}/.well-known/openid-configuration` */
  discoveryUrl?: string | URL
  /** Its JWKS URL; skips discovery for JWTs. */
  jwksUri?: string | URL
}

/**
 * RFC 9728 protected resource metadata: what the document says, and where it is served (every
 * 401 and 403 challenge then names it in `resource_metadata`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2 RFC 9728 §2
 */
export interface ResourceMetadataOptions {
  /**
   * The resource identifier (`resource`). RFC 9728 wants an https URL; an audience such as a URN
   * is accepted as the authorization server knows it.
   *
   * @default the first `audience`
   */
  resource?: string
  /**
   * The URL of the metadata document, as clients reach it.
   *
   * @default for an http(s) `resource`: the well-known URI derived from it (RFC 9728 §3.1, path
   *   inserted after `/.well-known/oauth-protected-resource`); required otherwise
   */
  url?: string | URL
  /** `authorization_servers`. @default the configured issuers, as given */
  authorizationServers?: readonly string[]
  /**
   * `scopes_supported`, in addition to the scopes the verifier's requirements and route guards
   * register.
   */
  scopes?: readonly string[]
  /** `resource_name`, a human-readable name. */
  resourceName?: string
  /** `resource_documentation`: a page for developers. */
  resourceDocumentation?: string
  /**
   * `resource_signing_alg_values_supported`: the JWS algorithms the resource signs its
   * *responses* with (RFC 9728 §2), not the access-token algorithms. Left out unless given.
   */
  resourceSigningAlgorithms?: readonly string[]
  /** Say `tls_client_certificate_bound_access_tokens: true` (RFC 8705). @default false */
  mtls?: boolean
}

/** Receives warnings about background work (a failed JWKS refresh). Never gets a token. */
export interface Logger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void
}

/**
 * Options of {@link createVerifier}, validated once by {@link resolveOptions}.
 */
export interface VerifierOptions extends Requirements {
  /**
   * The expected `iss`, or several trusted issuers (each with its own discovery, JWKS cache and
   * cooldown; a token's `iss` picks one before any key is fetched, an unknown `iss` costs no
   * request). Compared as URLs the way `@codegrant/core` does (`new URL(...).href`), so a
   * trailing slash on an origin does not matter. It is also where discovery happens unless
   * {@link discoveryUrl} or {@link jwksUri} (or an entry's own) say otherwise (a Cloudentity
   * workspace may set a custom issuer that differs from its URL). Introspection, when configured,
   * goes to the first issuer.
   */
  issuer: string | IssuerOptions | readonly (string | IssuerOptions)[]
  /**
   * The API's audience (a string) or audiences: the token's `aud` must contain one of these
   * (RFC 8707, RFC 9068 §4): a token issued for another resource is refused.
   */
  audience: string | readonly string[]
  /**
   * The authorization server metadata URL. A URL without `/.well-known/` gets
   * `/.well-known/openid-configuration` appended.
   *
   * @default `${issuer}/.well-known/openid-configuration`
   */
  discoveryUrl?: string | URL
  /** The JWKS URL; skips discovery for JWTs. */
  jwksUri?: string | URL
  /**
   * JWS algorithms accepted for access tokens. `none` is never accepted; HS* needs
   * {@link secret}.
   *
   * @default RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519 (HS256 when
   * only a secret is given)
   */
  algorithms?: readonly string[]
  /** A shared secret (at least 32 bytes) for HS256/384/512 tokens. */
  secret?: string | Uint8Array
  /**
   * RFC 9068 strictly: `typ` must be `at+jwt` and `sub`, `client_id`, `iat`, `jti` are required.
   * Otherwise `typ` may also be `JWT` or absent, and `iss`, `aud`, `exp` are required. ID tokens
   * are refused either way.
   *
   * @default false
   */
  strict?: boolean
  /**
   * RFC 9068 §4 `typ` only: the header `typ` must be `at+jwt` or `application/at+jwt`; `JWT` and
   * a missing `typ` are refused. Providers that issue `typ: JWT` or no `typ` (Keycloak, Microsoft
   * Entra ID, Okta, Amazon Cognito, Auth0 outside its RFC 9068 profile) need it off.
   *
   * @default the value of {@link strict}
   */
  strictType?: boolean
  /** Seconds of clock skew allowed for `exp`, `nbf`, `iat`. @default 5 */
  clockTolerance?: number
  /** Refuse tokens issued (`iat`) longer ago than this many seconds. */
  maxTokenAge?: number
  /**
   * Longest token accepted, in characters, checked before any parsing. Node refuses request
   * headers over 16 KiB in all, so larger values only matter with `--max-http-header-size`.
   *
   * @default 16384
   */
  maxTokenLength?: number
  /** Accept `access_token` in a form-encoded body (RFC 6750 §2.2). @default false */
  allowBodyToken?: boolean
  /** Accept `access_token` in the query string (RFC 6750 §2.3). @default false */
  allowQueryToken?: boolean
  /**
   * Claims read as scopes, each a space-separated string or an array of strings.
   *
   * @default ['scope', 'scp']
   */
  scopeClaims?: readonly string[]
  /** Opaque tokens by RFC 7662 introspection (and hybrid mode). */
  introspection?: IntrospectionOptions
  /** DPoP (RFC 9449) settings. */
  dpop?: DpopOptions
  /** Verified tokens remembered (LRU); 0 turns the cache off. @default 10000 */
  cacheMaxEntries?: number
  /** Seconds between JWKS fetches caused by an unknown `kid`. @default 30 */
  jwksCooldown?: number
  /** Seconds after which the JWKS is refreshed in the background. @default 600 */
  jwksMaxAge?: number
  /** Milliseconds per request to the authorization server. @default 5000 */
  timeout?: number
  /** The `fetch` for requests to the authorization server (proxies, mTLS, tests). */
  fetch?: typeof fetch
  /** The realm named in the challenge to a request without a token. @default 'api' */
  realm?: string
  /**
   * Where warnings about background work go (a failed discovery or JWKS fetch, an issuer
   * mismatch). Without it, a misconfiguration is reported once through `process.emitWarning`.
   */
  logger?: Logger
  /** RFC 9728 protected resource metadata and the `resource_metadata` challenge parameter. */
  resourceMetadata?: ResourceMetadataOptions
}

/** One trusted issuer, validated. */
export interface ResolvedIssuer {
  /** As configured (the metadata's `authorization_servers`). */
  readonly issuer: string
  /** `new URL(issuer).href`: how `iss` values are compared. */
  readonly href: string
  readonly discoveryUrl: URL | undefined
  /** True when the discovery URL was derived from the issuer (its `issuer` must then match). */
  readonly discoveryFromIssuer: boolean
  readonly jwksUri: URL | undefined
  /** The first issuer: introspection goes there. */
  readonly primary: boolean
}

/** Validated RFC 9728 settings. */
export interface ResolvedResourceMetadata {
  readonly resource: string
  readonly url: URL
  readonly authorizationServers: readonly string[]
  readonly scopes: readonly string[]
  readonly resourceName: string | undefined
  readonly resourceDocumentation: string | undefined
  readonly resourceSigningAlgorithms: readonly string[] | undefined
  readonly mtls: boolean
}

/** Validated, defaulted, frozen options. */
export interface ResolvedOptions {
  /** The first issuer's `issuer` (introspection). */
  readonly issuer: string
  readonly issuers: readonly ResolvedIssuer[]
  readonly audiences: readonly string[]
  readonly algorithms: ReadonlySet<string>
  readonly secret: KeyObject | undefined
  readonly strict: boolean
  readonly strictType: boolean
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
  readonly maxTokenLength: number
  readonly allowBodyToken: boolean
  readonly allowQueryToken: boolean
  readonly scopeClaims: readonly string[]
  readonly requirements: ResolvedRequirements | undefined
  readonly introspection: ResolvedIntrospection | undefined
  readonly dpop: ResolvedDpop
  readonly cacheMaxEntries: number
  readonly jwksCooldown: number
  readonly jwksMaxAge: number
  readonly timeout: number
  readonly fetch: typeof fetch
  readonly realm: string
  readonly logger: Logger | undefined
  readonly resourceMetadata: ResolvedResourceMetadata | undefined
  /** True when the `dpop` option was given (the metadata then advertises DPoP). */
  readonly dpopConfigured: boolean
}

export interface ResolvedRequirements {
  readonly scopes: readonly string[]
  readonly scopeAttribute: string
  readonly scopeMode: 'all' | 'any'
  readonly claims: readonly (readonly [string, ClaimMatcher])[]
  readonly acrValues: readonly string[] | undefined
  readonly maxAuthAge: number | undefined
}

export interface ResolvedIntrospection {
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  readonly privateKey: JWK | string | undefined
  readonly privateKeyAlg: string
  readonly endpoint: URL | undefined
  readonly allTokens: boolean
  readonly cacheTtl: number
  readonly negativeCacheTtl: number
}

export interface ResolvedDpop {
  readonly required: boolean
  readonly algorithms: ReadonlySet<string>
  readonly algs: string
  readonly proofMaxAge: number
  readonly nonceSecret: KeyObject | undefined
  readonly nonceLifetime: number
  readonly replayStore: ReplayStore | undefined
  readonly replayCacheMaxEntries: number
  readonly replayCacheMaxEntriesPerKey: number
}

/**
 * Parses an AS URL option: `https:`, or `http:` for a loopback host only.
 * Also used for URLs found in discovered metadata.
 */
export function parseServerUrl(value: unknown, name: string): URL {
  let url: URL
  try {
    url = new URL(value instanceof URL ? value.href : (value as string))
  } catch {
    fail(`"${name}" must be an absolute URL`)
  }
  if (typeof value !== 'string' && !(value instanceof URL)) fail(`"${name}" must be a URL`)
  assertSecureUrl(url, name)
  return url
}

/** A number option of at least `min` (seconds, or a count). */
function seconds(value: unknown, name: string, fallback: number, min = 0): number {
  return numberOption(value, name, fallback, { min })
}

function optionalSeconds(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : seconds(value, name, 0)
}

function stringList(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) fail(`"${name}" must be a non-empty string array`)
  for (const item of list) nonEmptyString(item, name)
  return [...(list as string[])]
}

function secretKey(value: unknown, name: string): KeyObject {
  const bytes =
    typeof value === 'string'
      ? Buffer.from(value, 'utf8')
      : value instanceof Uint8Array
        ? value
        : fail(`"${name}" must be a string or a Uint8Array`)
  if (bytes.byteLength < 32) fail(`"${name}" must be at least 32 bytes`)
  return createSecretKey(bytes)
}

function withWellKnown(url: URL): URL {
  if (url.pathname.includes('/.well-known/')) return url
  const copy = new URL(url.href)
  copy.pathname = `${copy.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`
  return copy
}

/** Validates {@link Requirements}; undefined when nothing is required. */
export function resolveRequirements(
  options: Requirements,
  prefix = '',
): ResolvedRequirements | undefined {
  const scopes = options.scopes === undefined ? [] : stringList(options.scopes, `${prefix}scopes`)
  for (const scope of scopes)
    if (/[\s"\\]/.test(scope)) fail(`"${prefix}scopes" entries must not contain spaces or quotes`)
  const scopeMode = options.scopeMode ?? 'all'
  if (scopeMode !== 'all' && scopeMode !== 'any')
    fail(`"${prefix}scopeMode" must be 'all' or 'any'`)
  const claims: [string, ClaimMatcher][] = []
  if (options.claims !== undefined) {
    if (typeof options.claims !== 'object' || options.claims === null)
      fail(`"${prefix}claims" must be an object`)
    for (const [name, check] of Object.entries(options.claims)) {
      if (!['string', 'number', 'boolean', 'function'].includes(typeof check))
        fail(`"${prefix}claims.${name}" must be a string, number, boolean or function`)
      claims.push([name, check])
    }
  }
  const acrValues =
    options.acrValues === undefined
      ? undefined
      : stringList(options.acrValues, `${prefix}acrValues`)
  const maxAuthAge = optionalSeconds(options.maxAuthAge, `${prefix}maxAuthAge`)
  if (
    scopes.length === 0 &&
    claims.length === 0 &&
    acrValues === undefined &&
    maxAuthAge === undefined
  )
    return undefined
  return Object.freeze({
    scopes: Object.freeze(scopes),
    scopeAttribute: scopes.join(' '),
    scopeMode,
    claims: Object.freeze(claims),
    acrValues: acrValues === undefined ? undefined : Object.freeze(acrValues),
    maxAuthAge,
  })
}

function resolveIntrospection(
  value: IntrospectionOptions | undefined,
): ResolvedIntrospection | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) fail('"introspection" must be an object')
  const clientId = nonEmptyString(value.clientId, 'introspection.clientId')
  const clientSecret =
    value.clientSecret === undefined
      ? undefined
      : nonEmptyString(value.clientSecret, 'introspection.clientSecret')
  const authMethod =
    value.authMethod ??
    (clientSecret === undefined && value.privateKey !== undefined
      ? 'private_key_jwt'
      : 'client_secret_basic')
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt'].includes(authMethod))
    fail(
      '"introspection.authMethod" must be client_secret_basic, client_secret_post or private_key_jwt',
    )
  if (authMethod !== 'private_key_jwt' && clientSecret === undefined)
    fail(`"introspection.clientSecret" is required for ${authMethod}`)
  const privateKey = value.privateKey
  if (authMethod === 'private_key_jwt') {
    if (
      !(typeof privateKey === 'string' && privateKey !== '') &&
      !(typeof privateKey === 'object' && privateKey !== null)
    )
      fail('"introspection.privateKey" must be a private JWK or a PKCS#8 PEM string')
  }
  const defaultAlg =
    typeof privateKey === 'object' && privateKey?.kty === 'EC'
      ? 'ES256'
      : typeof privateKey === 'object' && privateKey?.kty === 'OKP'
        ? 'EdDSA'
        : 'RS256'
  const privateKeyAlg =
    value.privateKeyAlg === undefined
      ? defaultAlg
      : nonEmptyString(value.privateKeyAlg, 'introspection.privateKeyAlg')
  return Object.freeze({
    clientId,
    clientSecret,
    authMethod,
    privateKey,
    privateKeyAlg,
    endpoint:
      value.endpoint === undefined
        ? undefined
        : parseServerUrl(value.endpoint, 'introspection.endpoint'),
    allTokens: booleanOption(value.allTokens, 'introspection.allTokens', false),
    cacheTtl: seconds(value.cacheTtl, 'introspection.cacheTtl', 30),
    negativeCacheTtl: seconds(value.negativeCacheTtl, 'introspection.negativeCacheTtl', 5),
  })
}

function integer(value: unknown, name: string, fallback: number, min: number): number {
  return numberOption(value, name, fallback, { min, integer: true })
}

/** Proofs a second that one key may send before its share of the replay cache is full. */
const PROOFS_PER_SECOND_PER_KEY = 100

function resolveDpop(value: DpopOptions | undefined, clockTolerance: number): ResolvedDpop {
  const options = value ?? {}
  if (typeof options !== 'object' || options === null) fail('"dpop" must be an object')
  const proofMaxAge = seconds(options.proofMaxAge, 'dpop.proofMaxAge', 300, 1)
  const replayStore = options.replayStore
  if (replayStore !== undefined && typeof replayStore?.add !== 'function')
    fail('"dpop.replayStore" must have an add() method')
  const replayCacheMaxEntries = integer(
    options.replayCacheMaxEntries,
    'dpop.replayCacheMaxEntries',
    500_000,
    1,
  )
  // A jti is remembered for up to two proof windows (two generations rotated once per window).
  const span = 2 * (proofMaxAge + 2 * clockTolerance)
  const replayCacheMaxEntriesPerKey = integer(
    options.replayCacheMaxEntriesPerKey,
    'dpop.replayCacheMaxEntriesPerKey',
    Math.min(replayCacheMaxEntries, Math.ceil(span * PROOFS_PER_SECOND_PER_KEY)),
    1,
  )
  if (replayCacheMaxEntriesPerKey > replayCacheMaxEntries)
    fail('"dpop.replayCacheMaxEntriesPerKey" must not exceed "dpop.replayCacheMaxEntries"')
  const algorithms =
    options.algorithms === undefined
      ? [...ASYMMETRIC_ALGORITHMS]
      : stringList(options.algorithms, 'dpop.algorithms')
  for (const alg of algorithms)
    if (!ASYMMETRIC_ALGORITHMS.has(alg))
      fail(`"dpop.algorithms" may only name asymmetric algorithms (got ${JSON.stringify(alg)})`)
  return Object.freeze({
    required: booleanOption(options.required, 'dpop.required', false),
    algorithms: new Set(algorithms),
    algs: algorithms.join(' '),
    proofMaxAge,
    nonceSecret:
      options.nonceSecret === undefined
        ? undefined
        : secretKey(options.nonceSecret, 'dpop.nonceSecret'),
    nonceLifetime: seconds(options.nonceLifetime, 'dpop.nonceLifetime', 60, 1),
    replayStore,
    replayCacheMaxEntries,
    replayCacheMaxEntriesPerKey,
  })
}

/**
 * The issuer as `@codegrant/core` compares it: `new URL(issuer).href`, so an origin with or
 * without its trailing slash is one issuer. Undefined when it is not a URL.
 */
export function normalizeIssuer(value: string): string | undefined {
  try {
    return new URL(value).href
  } catch {
    return undefined
  }
}

/** True when two issuer identifiers are the same issuer (exactly, or by {@link normalizeIssuer}). */
export function sameIssuer(actual: unknown, expected: string): boolean {
  if (actual === expected) return true
  if (typeof actual !== 'string') return false
  const a = normalizeIssuer(actual)
  return a !== undefined && a === normalizeIssuer(expected)
}

function resolveIssuers(
  options: VerifierOptions,
  needsDiscovery: (jwksUri: URL | undefined, primary: boolean) => boolean,
): ResolvedIssuer[] {
  const value = options.issuer
  const list: readonly (string | IssuerOptions)[] = Array.isArray(value)
    ? (value as readonly (string | IssuerOptions)[])
    : [value as string | IssuerOptions]
  if (list.length === 0) fail('"issuer" must be a non-empty string or a non-empty list')
  const several = list.length > 1
  if (several && (options.discoveryUrl !== undefined || options.jwksUri !== undefined))
    fail(
      '"discoveryUrl" and "jwksUri" apply to one issuer: with several, set them per entry of "issuer"',
    )
  const out: ResolvedIssuer[] = []
  list.forEach((entry, index) => {
    const name = several ? `issuer[${index}]` : 'issuer'
    const item: IssuerOptions =
      typeof entry === 'string'
        ? { issuer: entry, discoveryUrl: options.discoveryUrl, jwksUri: options.jwksUri }
        : typeof entry === 'object' && entry !== null
          ? several
            ? entry
            : {
                issuer: entry.issuer,
                discoveryUrl: entry.discoveryUrl ?? options.discoveryUrl,
                jwksUri: entry.jwksUri ?? options.jwksUri,
              }
          : fail(`"${name}" must be a string or an object with an "issuer"`)
    const issuer = nonEmptyString(item.issuer, typeof entry === 'string' ? name : `${name}.issuer`)
    const jwksUri =
      item.jwksUri === undefined
        ? undefined
        : parseServerUrl(item.jwksUri, several ? `${name}.jwksUri` : 'jwksUri')
    let discoveryUrl: URL | undefined
    let discoveryFromIssuer = false
    if (item.discoveryUrl !== undefined) {
      discoveryUrl = withWellKnown(
        parseServerUrl(item.discoveryUrl, several ? `${name}.discoveryUrl` : 'discoveryUrl'),
      )
    } else if (needsDiscovery(jwksUri, index === 0)) {
      discoveryUrl = withWellKnown(parseServerUrl(issuer, name))
      discoveryFromIssuer = true
    }
    const href = normalizeIssuer(issuer) ?? issuer
    if (out.some((other) => other.href === href)) fail(`"${name}" names an issuer twice`)
    out.push(
      Object.freeze({
        issuer,
        href,
        discoveryUrl,
        discoveryFromIssuer,
        jwksUri,
        primary: index === 0,
      }),
    )
  })
  return out
}

/** The RFC 9728 well-known URI of an http(s) resource identifier (RFC 9728 §3.1). */
export function wellKnownMetadataUrl(resource: string): URL | undefined {
  let url: URL
  try {
    url = new URL(resource)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return new URL(`/.well-known/oauth-protected-resource${path}${url.search}`, url.origin)
}

function resolveResourceMetadata(
  value: ResourceMetadataOptions | undefined,
  audiences: readonly string[],
  issuers: readonly ResolvedIssuer[],
  requirements: ResolvedRequirements | undefined,
): ResolvedResourceMetadata | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) fail('"resourceMetadata" must be an object')
  const resource =
    value.resource === undefined
      ? audiences[0]!
      : nonEmptyString(value.resource, 'resourceMetadata.resource')
  if (resource.includes('#')) fail('"resourceMetadata.resource" must not have a fragment')
  let url: URL
  if (value.url !== undefined) {
    try {
      url = new URL(value.url instanceof URL ? value.url.href : (value.url as string))
    } catch {
      fail('"resourceMetadata.url" must be an absolute URL')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      fail('"resourceMetadata.url" must be an http(s) URL')
  } else {
    url =
      wellKnownMetadataUrl(resource) ??
      fail('"resourceMetadata.url" is required when "resourceMetadata.resource" is not a URL')
  }
  const authorizationServers =
    value.authorizationServers === undefined
      ? issuers.map((i) => i.issuer)
      : stringList(value.authorizationServers, 'resourceMetadata.authorizationServers')
  const scopes =
    value.scopes === undefined ? [] : stringList(value.scopes, 'resourceMetadata.scopes')
  for (const scope of requirements?.scopes ?? []) if (!scopes.includes(scope)) scopes.push(scope)
  return Object.freeze({
    resource,
    url,
    authorizationServers: Object.freeze([...authorizationServers]),
    scopes: Object.freeze(scopes),
    resourceName: optionalString(value.resourceName, 'resourceMetadata.resourceName'),
    resourceDocumentation: optionalString(
      value.resourceDocumentation,
      'resourceMetadata.resourceDocumentation',
    ),
    resourceSigningAlgorithms:
      value.resourceSigningAlgorithms === undefined
        ? undefined
        : Object.freeze(
            stringList(
              value.resourceSigningAlgorithms,
              'resourceMetadata.resourceSigningAlgorithms',
            ),
          ),
    mtls: booleanOption(value.mtls, 'resourceMetadata.mtls', false),
  })
}

/**
 * Validates {@link VerifierOptions} once: throws a `TypeError` naming the first bad option,
 * applies the documented defaults and freezes the result.
 */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  const audiences = stringList(options.audience, 'audience')

  const secret = options.secret === undefined ? undefined : secretKey(options.secret, 'secret')
  const several = Array.isArray(options.issuer) && options.issuer.length > 1
  const keysConfigured =
    options.jwksUri !== undefined || options.discoveryUrl !== undefined || several
  const algorithms =
    options.algorithms === undefined
      ? secret !== undefined && !keysConfigured
        ? ['HS256']
        : [...ASYMMETRIC_ALGORITHMS]
      : stringList(options.algorithms, 'algorithms')
  for (const alg of algorithms) {
    if (SYMMETRIC_ALGORITHMS.has(alg)) {
      if (secret === undefined) fail(`"algorithms" names ${alg}, which needs "secret"`)
    } else if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
      fail(`"algorithms" has an unsupported algorithm ${JSON.stringify(alg)}`)
    }
  }
  const asymmetric = algorithms.some((a) => ASYMMETRIC_ALGORITHMS.has(a))
  const issuers = resolveIssuers(
    options,
    (jwksUri, primary) =>
      (jwksUri === undefined && asymmetric) ||
      (primary &&
        options.introspection !== undefined &&
        options.introspection?.endpoint === undefined),
  )

  const scopeClaims =
    options.scopeClaims === undefined
      ? ['scope', 'scp']
      : stringList(options.scopeClaims, 'scopeClaims')
  const realm = options.realm === undefined ? 'api' : nonEmptyString(options.realm, 'realm')
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') fail('"fetch" must be a function')
  const logger = options.logger
  if (logger !== undefined && typeof logger?.warn !== 'function')
    fail('"logger" must have a warn() method')
  const cacheMaxEntries = seconds(options.cacheMaxEntries, 'cacheMaxEntries', 10_000)
  if (!Number.isInteger(cacheMaxEntries)) fail('"cacheMaxEntries" must be an integer')
  const maxTokenLength = seconds(options.maxTokenLength, 'maxTokenLength', 16_384, 16)
  const clockTolerance = seconds(options.clockTolerance, 'clockTolerance', 5)
  const strict = booleanOption(options.strict, 'strict', false)
  const requirements = resolveRequirements(options)

  return Object.freeze({
    issuer: issuers[0]!.issuer,
    issuers: Object.freeze(issuers),
    audiences: Object.freeze(audiences),
    algorithms: new Set(algorithms),
    secret,
    strict,
    strictType: booleanOption(options.strictType, 'strictType', strict),
    clockTolerance,
    maxTokenAge: optionalSeconds(options.maxTokenAge, 'maxTokenAge'),
    maxTokenLength,
    allowBodyToken: booleanOption(options.allowBodyToken, 'allowBodyToken', false),
    allowQueryToken: booleanOption(options.allowQueryToken, 'allowQueryToken', false),
    scopeClaims: Object.freeze(scopeClaims),
    requirements,
    introspection: resolveIntrospection(options.introspection),
    dpop: resolveDpop(options.dpop, clockTolerance),
    cacheMaxEntries,
    jwksCooldown: seconds(options.jwksCooldown, 'jwksCooldown', 30),
    jwksMaxAge: seconds(options.jwksMaxAge, 'jwksMaxAge', 600, 1),
    timeout: seconds(options.timeout, 'timeout', 5000, 1),
    fetch: fetchImpl,
    realm,
    logger,
    resourceMetadata: resolveResourceMetadata(
      options.resourceMetadata,
      audiences,
      issuers,
      requirements,
    ),
    dpopConfigured: options.dpop !== undefined,
  })
}
