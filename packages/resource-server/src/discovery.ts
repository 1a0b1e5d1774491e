import { ResourceServerError } from './errors.js'
import { fetchJson } from './http.js'
import { parseServerUrl, type ResolvedOptions } from './options.js'

/** The endpoints the resource server uses, explicit or discovered. */
export interface Endpoints {
  readonly jwksUri: URL | undefined
  readonly introspectionEndpoint: URL | undefined
}

const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

/**
 * Finds the endpoints lazily: on first use, one discovery at a time (single-flight). When the
 * authorization server is down, every caller gets `ERR_DISCOVERY_FAILED` (503) without a new
 * fetch until a backoff (1 s doubling to 30 s) has passed; the next caller after it retries, so
 * an API started while the AS is down recovers without a restart.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3 RFC 8414 §3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */
export class EndpointSource {
  private value: Endpoints | undefined
  private inflight: Promise<Endpoints> | undefined
  private retryAt = 0
  private retryDelay = 0
  private lastError: unknown

  constructor(private readonly options: ResolvedOptions) {
    const needsJwks = options.jwksUri === undefined && needsKeys(options)
    const needsIntrospection =
      options.introspection !== undefined && options.introspection.endpoint === undefined
    if (!needsJwks && !needsIntrospection)
      this.value = Object.freeze({
        jwksUri: options.jwksUri,
        introspectionEndpoint: options.introspection?.endpoint,
      })
  }

  /** The endpoints, discovering them first when needed. */
  get(): Endpoints | Promise<Endpoints> {
    if (this.value !== undefined) return this.value
    if (this.inflight !== undefined) return this.inflight
    if (Date.now() < this.retryAt)
      return Promise.reject(
        new ResourceServerError('ERR_DISCOVERY_FAILED', { cause: this.lastError }),
      )
    this.inflight = this.discover().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async discover(): Promise<Endpoints> {
    const { options } = this
    const url = options.discoveryUrl as URL
    try {
      const doc = await fetchJson(options.fetch, url, options.timeout)
      if (options.discoveryFromIssuer && doc.issuer !== options.issuer)
        throw new Error('the metadata "issuer" differs from the expected issuer')
      const jwksUri =
        options.jwksUri ??
        (needsKeys(options) ? parseServerUrl(doc.jwks_uri, 'jwks_uri') : undefined)
      const introspectionEndpoint =
        options.introspection === undefined
          ? undefined
          : (options.introspection.endpoint ??
            (doc.introspection_endpoint === undefined
              ? undefined
              : parseServerUrl(doc.introspection_endpoint, 'introspection_endpoint')))
      this.value = Object.freeze({ jwksUri, introspectionEndpoint })
      return this.value
    } catch (cause) {
      this.lastError = cause
      this.retryDelay = Math.min(Math.max(this.retryDelay * 2, FIRST_RETRY_MS), MAX_RETRY_MS)
      this.retryAt = Date.now() + this.retryDelay
      throw new ResourceServerError('ERR_DISCOVERY_FAILED', { cause })
    }
  }
}

function needsKeys(options: ResolvedOptions): boolean {
  for (const alg of options.algorithms) if (!alg.startsWith('HS')) return true
  return false
}
