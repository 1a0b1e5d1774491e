import { importJWK, importPKCS8, type JWK } from 'jose'
import * as openid from 'openid-client'
import type { EndpointSource } from './discovery.js'
import { ResourceServerError } from './errors.js'
import { createBoundedFetch } from './http.js'
import { audienceMatches } from './jwt-checks.js'
import { sameIssuer, type ResolvedIntrospection, type ResolvedOptions } from './options.js'

/**
 * Asks the authorization server about a token (RFC 7662) and checks its answer. The request,
 * with its client authentication (`client_secret_basic` by default, `client_secret_post` or
 * `private_key_jwt`), is openid-client's `tokenIntrospection`; its fetch keeps our limits (the
 * `timeout` covers the body, 512 KiB at most). Any failure to get a usable answer is
 * `ERR_INTROSPECTION_FAILED` (503): a token that cannot be checked is never accepted. Caching,
 * single-flight and the negative cache are the verifier's. Why openid-client: client
 * authentication (RFC 6749 §2.3.1 form-encoding, RFC 7523 assertions) is subtle and is already
 * openid-client's job in `@codegrant/core`; one implementation means one set of bugs and fixes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2 RFC 7662 §2
 */
export class Introspector {
  /** One openid-client configuration per introspection endpoint (explicit or discovered). */
  private configuration: Promise<openid.Configuration> | undefined
  private configuredFor: string | undefined
  private readonly fetch: openid.CustomFetch

  constructor(
    private readonly options: ResolvedOptions,
    private readonly config: ResolvedIntrospection,
    private readonly endpoints: EndpointSource,
  ) {
    this.fetch = createBoundedFetch(options.fetch, options.timeout) as unknown as openid.CustomFetch
  }

  /**
   * The active introspection response for `token`. Throws `ERR_TOKEN_INACTIVE` for
   * `active: false`, `ERR_TOKEN_TYPE` for a token that is not an access token, and
   * `ERR_TOKEN_CLAIM_INVALID` for another issuer or audience.
   */
  async introspect(token: string): Promise<Record<string, unknown>> {
    const endpoints = await this.endpoints.get()
    const endpoint = endpoints.introspectionEndpoint
    if (endpoint === undefined)
      throw new ResourceServerError('ERR_INTROSPECTION_FAILED', {
        cause: new Error('the authorization server has no introspection_endpoint'),
      })
    let response: Record<string, unknown>
    try {
      const configuration = await this.configurationFor(endpoint)
      response = await openid.tokenIntrospection(configuration, token, {
        token_type_hint: 'access_token',
      })
    } catch (cause) {
      if (nonBooleanActive(cause)) throw new ResourceServerError('ERR_TOKEN_INACTIVE')
      this.options.logger?.warn('token introspection failed', {
        cause: cause instanceof Error ? cause.message : String(cause),
      })
      throw new ResourceServerError('ERR_INTROSPECTION_FAILED', { cause })
    }
    if (response.active !== true) throw new ResourceServerError('ERR_TOKEN_INACTIVE')
    const tokenType = response.token_type
    if (
      tokenType !== undefined &&
      (typeof tokenType !== 'string' || !/^(?:bearer|dpop|access_token)$/i.test(tokenType))
    )
      throw new ResourceServerError('ERR_TOKEN_TYPE')
    if (response.iss !== undefined && !sameIssuer(response.iss, this.options.issuer))
      throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
        description: 'The access token "iss" claim is missing or invalid',
      })
    if (!audienceMatches(response.aud, this.options.audiences))
      throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
        description: 'The access token "aud" claim is missing or invalid',
      })
    for (const name of ['exp', 'nbf', 'iat'])
      if (response[name] !== undefined && typeof response[name] !== 'number')
        throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID')
    return response
  }

  /**
   * The openid-client configuration for `endpoint`: the issuer and that endpoint as its metadata,
   * our client authentication, our fetch and timeout. Plain http is allowed only because
   * `parseServerUrl` already refused it for any host but a loopback one.
   */
  private configurationFor(endpoint: URL): Promise<openid.Configuration> {
    if (this.configuration !== undefined && this.configuredFor === endpoint.href)
      return this.configuration
    this.configuredFor = endpoint.href
    const configuration = this.clientAuth().then((auth) => {
      const value = new openid.Configuration(
        { issuer: this.options.issuer, introspection_endpoint: endpoint.href },
        this.config.clientId,
        {},
        auth,
      )
      value[openid.customFetch] = this.fetch
      value.timeout = this.options.timeout / 1000
      if (endpoint.protocol === 'http:') openid.allowInsecureRequests(value)
      return value
    })
    // A key that failed to import is tried again on the next request.
    configuration.catch(() => {
      if (this.configuration === configuration) this.configuration = undefined
    })
    this.configuration = configuration
    return configuration
  }

  /** openid-client's client authentication for the configured method. */
  private async clientAuth(): Promise<openid.ClientAuth> {
    const { config } = this
    switch (config.authMethod) {
      case 'client_secret_basic':
        return openid.ClientSecretBasic(config.clientSecret ?? '')
      case 'client_secret_post':
        return openid.ClientSecretPost(config.clientSecret ?? '')
      case 'private_key_jwt': {
        const key =
          typeof config.privateKey === 'string'
            ? await importPKCS8(config.privateKey, config.privateKeyAlg)
            : await importJWK(config.privateKey as JWK, config.privateKeyAlg)
        if (key instanceof Uint8Array)
          throw new TypeError('"introspection.privateKey" is not a private key')
        const kid =
          typeof config.privateKey === 'object'
            ? (config.privateKey as { kid?: unknown }).kid
            : undefined
        return openid.PrivateKeyJwt(typeof kid === 'string' ? { key, kid } : key)
      }
    }
  }
}

/**
 * openid-client refuses an answer whose `active` is not a boolean (`OAUTH_INVALID_RESPONSE`, the
 * parsed body as `cause.body`); RFC 7662 §2.2 makes anything but `true` an inactive token, and
 * so did this module before openid-client made the request: refuse it as `ERR_TOKEN_INACTIVE`
 * (401), not as an outage (503). Read from the error's code and data, never its message.
 */
function nonBooleanActive(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code !== 'OAUTH_INVALID_RESPONSE') continue
    const data = e.cause
    if (typeof data !== 'object' || data === null || !('body' in data)) continue
    const body = (data as { body: unknown }).body
    if (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as { active?: unknown }).active !== 'boolean'
    )
      return true
  }
  return false
}
