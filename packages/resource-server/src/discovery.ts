import { SingleFlight } from '@codegrant/internal'
import { ResourceServerError } from './errors.js'
import { fetchJson } from './http.js'
import { parseServerUrl, sameIssuer, type ResolvedIssuer, type ResolvedOptions } from './options.js'
import { causeMessage, warn } from './warn.js'

/**
 * The discovery document names another issuer than the configured one: a configuration error
 * (a trailing path slash, `127.0.0.1` against `localhost`, a custom issuer), not an outage.
 */
export class IssuerMismatchError extends Error {
  override readonly name = 'IssuerMismatchError'
  constructor(
    readonly expected: string,
    readonly found: unknown,
    readonly url: string,
  ) {
    super(
      `the discovery document ${url} names the issuer ${JSON.stringify(found)}, but ` +
        `${JSON.stringify(expected)} is expected: set "issuer" to the authorization server's ` +
        'exact issuer identifier (or "discoveryUrl" when the issuer is not its URL)',
    )
  }
}

/** The endpoints the resource server uses, explicit or discovered. */
export interface Endpoints {
  readonly jwksUri: URL | undefined
  readonly introspectionEndpoint: URL | undefined
}

const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

/**
 * Finds the endpoints of one issuer lazily: on first use, one discovery at a time (single-flight). When the
 * authorization server is down, every caller gets `ERR_DISCOVERY_FAILED` (503) without a new
 * fetch until a backoff (1 s doubling to 30 s) has passed; the next caller after it retries, so
 * an API started while the AS is down recovers without a restart. A discovery document whose
 * `issuer` is not the configured one (compared as core does: exactly or as `new URL().href`) is
 * `ERR_ISSUER_MISMATCH`, reported with both values.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3 RFC 8414 §3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */
export class EndpointSource {
  private value: Endpoints | undefined
  private readonly discovery = new SingleFlight(() => this.discover(), {
    first: FIRST_RETRY_MS,
    max: MAX_RETRY_MS,
  })

  private readonly introspection: boolean

  constructor(
    private readonly options: ResolvedOptions,
    private readonly issuer: ResolvedIssuer,
  ) {
    this.introspection = issuer.primary && options.introspection !== undefined
    const needsJwks = issuer.jwksUri === undefined && needsKeys(options)
    const needsIntrospection = this.introspection && options.introspection!.endpoint === undefined
    if (!needsJwks && !needsIntrospection)
      this.value = Object.freeze({
        jwksUri: issuer.jwksUri,
        introspectionEndpoint: this.introspection ? options.introspection!.endpoint : undefined,
      })
  }

  /** The endpoints, discovering them first when needed. */
  get(): Endpoints | Promise<Endpoints> {
    if (this.value !== undefined) return this.value
    // While cooling down, each caller gets its own error with the last failure's cause.
    if (this.discovery.coolingDown)
      return Promise.reject(this.failure((this.discovery.lastError as Error).cause))
    return this.discovery.run()
  }

  private failure(cause: unknown): ResourceServerError {
    return new ResourceServerError(
      cause instanceof IssuerMismatchError ? 'ERR_ISSUER_MISMATCH' : 'ERR_DISCOVERY_FAILED',
      { cause },
    )
  }

  private async discover(): Promise<Endpoints> {
    const { options, issuer } = this
    const url = issuer.discoveryUrl as URL
    try {
      const doc = await fetchJson(options.fetch, url, options.timeout)
      if (issuer.discoveryFromIssuer && !sameIssuer(doc.issuer, issuer.issuer))
        throw new IssuerMismatchError(issuer.issuer, doc.issuer, url.href)
      const jwksUri =
        issuer.jwksUri ??
        (needsKeys(options) ? parseServerUrl(doc.jwks_uri, 'jwks_uri') : undefined)
      const introspectionEndpoint = !this.introspection
        ? undefined
        : (options.introspection!.endpoint ??
          (doc.introspection_endpoint === undefined
            ? undefined
            : parseServerUrl(doc.introspection_endpoint, 'introspection_endpoint')))
      this.value = Object.freeze({ jwksUri, introspectionEndpoint })
      return this.value
    } catch (cause) {
      const err = this.failure(cause)
      warn(
        options,
        err.code,
        err.code === 'ERR_ISSUER_MISMATCH'
          ? causeMessage(cause)
          : `discovery failed for the issuer ${issuer.issuer} (${url.href}): ${causeMessage(cause)}`,
        { issuer: issuer.issuer, url: url.href },
      )
      throw err
    }
  }
}

function needsKeys(options: ResolvedOptions): boolean {
  for (const alg of options.algorithms) if (!alg.startsWith('HS')) return true
  return false
}
