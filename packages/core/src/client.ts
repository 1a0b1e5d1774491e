import { assertSecureUrl, isLoopbackHost } from '@codegrant/internal'
import * as openid from 'openid-client'
import { createClientAuth } from './client-auth.js'
import { CodegrantError } from './errors.js'
import { createBoundedFetch } from './http.js'
import { toCodegrantError, type ErrorContext } from './map-error.js'
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js'

/**
 * A configured OAuth 2.0 / OpenID Connect client: frozen, plain data, safe to share across
 * requests. Pass it to every other function of `@codegrant/core`.
 */
export interface Client {
  /** The issuer identifier, exactly as the AS metadata states it. */
  readonly issuer: string
  /** The `client_id`. */
  readonly clientId: string
  /** The exact registered `redirect_uri`. */
  readonly redirectUri: string
  /** The registered post-logout redirect URI, when configured. */
  readonly postLogoutRedirectUri?: string
  /** The authorization server metadata in use (discovered or given). */
  readonly metadata: Readonly<Record<string, unknown>>
}

interface ClientInternals {
  readonly configuration: openid.Configuration
  readonly settings: ResolvedOptions
}

const internals = new WeakMap<Client, ClientInternals>()

const ENDPOINT_KEYS = [
  'authorization_endpoint',
  'token_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'registration_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'end_session_endpoint',
  'pushed_authorization_request_endpoint',
] as const

/**
 * Creates a {@link Client}: discovers the AS metadata from the issuer
 * (`/.well-known/openid-configuration`) unless `metadata` is given, then applies strict
 * defaults: ID token signatures verified even from the token endpoint (a rotated signing key
 * is fetched on its first use, at most once per 30 s), the registered
 * `id_token_signed_response_alg` enforced, `client_secret_basic` when a secret is given, a
 * bounded request time, plain http only for loopback hosts.
 *
 * @throws TypeError on a bad option (naming it)
 * @throws CodegrantError `ERR_DISCOVERY_FAILED` (metadata not fetched or parsed),
 *   `ERR_METADATA_INVALID` (issuer mismatch, insecure or missing endpoint)
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 */
export async function createClient(options: ClientOptions): Promise<Client> {
  const settings = resolveOptions(options)
  const auth = await createClientAuth(settings)
  const bounded = createBoundedFetch(settings.fetch, settings.timeout, settings.maxResponseSize)
  const boundedFetch = bounded as unknown as openid.CustomFetch
  const clientMetadata: Partial<openid.ClientMetadata> = {
    id_token_signed_response_alg: settings.idTokenSignedResponseAlg,
    redirect_uris: [settings.redirectUri],
    response_types: ['code'],
    [openid.clockTolerance]: settings.clockTolerance,
    ...(settings.clientSecret !== undefined && { client_secret: settings.clientSecret }),
    ...((settings.clientAuthMethod === 'tls_client_auth' ||
      settings.clientAuthMethod === 'self_signed_tls_client_auth') && {
      use_mtls_endpoint_aliases: true,
    }),
  }
  const execute = settings.loopback ? [openid.allowInsecureRequests] : []

  let configuration: openid.Configuration
  if (settings.metadata !== undefined) {
    const metadata = settings.metadata
    if (typeof metadata.issuer !== 'string' || !sameIssuer(metadata.issuer, settings.issuer)) {
      throw new CodegrantError(
        'ERR_METADATA_INVALID',
        `the metadata "issuer" does not match the expected issuer: expected ${quote(settings.issuer)}, found ${quote(metadata.issuer)} (set "issuer" to the value the AS states, exactly)`,
      )
    }
    try {
      configuration = new openid.Configuration(
        metadata as unknown as openid.ServerMetadata,
        settings.clientId,
        clientMetadata,
        auth,
      )
    } catch (cause) {
      throw new CodegrantError('ERR_METADATA_INVALID', 'the metadata is unusable', { cause })
    }
    configuration[openid.customFetch] = boundedFetch
    configuration.timeout = settings.timeout / 1000
    for (const extension of execute) extension(configuration)
  } else {
    // Remember the URL discovery asked, so that a failure can name it.
    let tried: string | undefined
    const discoveryFetch = ((input: string | URL | Request, init?: RequestInit) => {
      tried = input instanceof Request ? input.url : String(input)
      return bounded(input, init)
    }) as unknown as openid.CustomFetch
    try {
      configuration = await openid.discovery(
        settings.issuerUrl,
        settings.clientId,
        clientMetadata,
        auth,
        { [openid.customFetch]: discoveryFetch, timeout: settings.timeout / 1000, execute },
      )
    } catch (err) {
      const mapped = toCodegrantError(err, 'discovery')
      if (mapped.code === 'ERR_METADATA_INVALID') throw mapped
      throw discoveryFailed(mapped, tried, settings)
    }
    configuration[openid.customFetch] = boundedFetch
  }

  const metadata = configuration.serverMetadata() as unknown as Record<string, unknown>
  checkMetadata(metadata, settings)
  // ID token signatures are verified by verifyIdToken() (id-token.ts) with jose's remote key
  // set, not by openid-client's enableNonRepudiationChecks: oauth4webapi refetches its JWKS on
  // an unknown kid only when the cached set is 60 s old, and offers no way to change that.

  const client: Client = Object.freeze({
    issuer: metadata.issuer as string,
    clientId: settings.clientId,
    redirectUri: settings.redirectUri,
    ...(settings.postLogoutRedirectUri !== undefined && {
      postLogoutRedirectUri: settings.postLogoutRedirectUri,
    }),
    metadata: deepFreeze(structuredClone(metadata)),
  })
  internals.set(client, Object.freeze({ configuration, settings }))
  return client
}

/** A URL for a message: no user name or password, at most 200 characters. */
function displayUrl(value: string): string {
  try {
    const url = new URL(value)
    url.username = ''
    url.password = ''
    return url.href.slice(0, 200)
  } catch {
    return quote(value)
  }
}

/** A value from the AS or the options for a message: JSON-quoted, at most 200 characters. */
function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 200)) : String(typeof value)
}

/**
 * `ERR_DISCOVERY_FAILED`, naming the URL tried, the HTTP status (or timeout, or network
 * failure) and what to check.
 */
function discoveryFailed(
  mapped: CodegrantError,
  tried: string | undefined,
  settings: ResolvedOptions,
): CodegrantError {
  const url = displayUrl(tried ?? settings.issuerUrl.href)
  let outcome: string
  switch (mapped.code) {
    case 'ERR_TIMEOUT':
      outcome = `did not answer within ${settings.timeout} ms ("timeout")`
      break
    case 'ERR_NETWORK':
      outcome = 'could not be reached (connection refused, DNS or TLS failure)'
      break
    case 'ERR_RESPONSE_TOO_LARGE':
      outcome = `answered with a body over ${settings.maxResponseSize} bytes ("maxResponseSize")`
      break
    default:
      outcome =
        mapped.status === undefined
          ? 'did not answer with valid JSON metadata'
          : mapped.status >= 200 && mapped.status < 300
            ? `answered HTTP ${mapped.status} without valid JSON metadata`
            : `answered HTTP ${mapped.status}`
  }
  return new CodegrantError(
    'ERR_DISCOVERY_FAILED',
    `discovery failed (${mapped.code}): GET ${url} ${outcome}: check "issuer" (the issuer identifier exactly as the AS states it, without "/.well-known/openid-configuration"), or pass "metadata"`,
    { cause: mapped, ...(mapped.status !== undefined && { status: mapped.status }) },
  )
}

function sameIssuer(actual: string, expected: string): boolean {
  if (actual === expected) return true
  try {
    return new URL(actual).href === new URL(expected).href
  } catch {
    return false
  }
}

function checkMetadata(metadata: Record<string, unknown>, settings: ResolvedOptions): void {
  for (const key of ENDPOINT_KEYS) {
    const value = metadata[key]
    if (value === undefined) continue
    let url: URL
    try {
      if (typeof value !== 'string') throw new TypeError(key)
      url = new URL(value)
      assertSecureUrl(url, key)
    } catch (cause) {
      throw new CodegrantError(
        'ERR_METADATA_INVALID',
        `the metadata "${key}" is not an https: URL (http: only for loopback hosts)`,
        { cause },
      )
    }
    if (url.protocol === 'http:' && !(settings.loopback && isLoopbackHost(url.hostname))) {
      throw new CodegrantError('ERR_METADATA_INVALID', `the metadata "${key}" is not an https: URL`)
    }
  }
  for (const key of ['authorization_endpoint', 'token_endpoint'] as const) {
    if (typeof metadata[key] !== 'string') {
      throw new CodegrantError('ERR_METADATA_INVALID', `the metadata has no "${key}"`)
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

function internalsOf(client: Client): ClientInternals {
  const found = internals.get(client)
  if (!found) throw new TypeError('"client" must be a Client from createClient()')
  return found
}

/**
 * The openid-client `Configuration` behind a {@link Client} (internal to `@codegrant/core`).
 * Its `customFetch` is our bounded fetch: requests through it time out and fail with
 * `CodegrantError` codes that {@link toCodegrantError} passes through.
 *
 * @throws TypeError when `client` did not come from {@link createClient}
 */
export function getConfiguration(client: Client): openid.Configuration {
  return internalsOf(client).configuration
}

/**
 * The {@link ErrorContext} of a request that authenticates `client` (token, PAR, revocation,
 * introspection), for {@link toCodegrantError} (internal to `@codegrant/core`).
 */
export function clientAuthContext(client: Client): ErrorContext {
  return { clientAuthMethod: internalsOf(client).settings.clientAuthMethod }
}

/** The validated options behind a {@link Client} (internal to `@codegrant/core`). */
export function getClientSettings(client: Client): ResolvedOptions {
  return internalsOf(client).settings
}
