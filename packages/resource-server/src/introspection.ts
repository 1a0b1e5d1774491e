import { randomUUID } from 'node:crypto'
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { EndpointSource } from './discovery.js'
import { ResourceServerError } from './errors.js'
import { fetchJson } from './http.js'
import { audienceMatches } from './jwt-checks.js'
import { sameIssuer, type ResolvedIntrospection, type ResolvedOptions } from './options.js'

/** RFC 6749 §2.3.1: form-encode the client id and secret before Basic encoding. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

/**
 * Asks the authorization server about a token (RFC 7662) and checks its answer. Authenticates
 * with `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`. Any failure to
 * get a usable answer is `ERR_INTROSPECTION_FAILED` (503): a token that cannot be checked is
 * never accepted. Caching and single-flight are the verifier's.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2 RFC 7662 §2
 */
export class Introspector {
  private readonly basic: string | undefined
  private signingKey: Promise<CryptoKey | Uint8Array> | undefined

  constructor(
    private readonly options: ResolvedOptions,
    private readonly config: ResolvedIntrospection,
    private readonly endpoints: EndpointSource,
  ) {
    this.basic =
      config.authMethod === 'client_secret_basic'
        ? `Basic ${Buffer.from(
            `${formEncode(config.clientId)}:${formEncode(config.clientSecret ?? '')}`,
          ).toString('base64')}`
        : undefined
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
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
    }
    const { config } = this
    if (this.basic !== undefined) headers.authorization = this.basic
    else if (config.authMethod === 'client_secret_post') {
      body.set('client_id', config.clientId)
      body.set('client_secret', config.clientSecret ?? '')
    }
    let response: Record<string, unknown>
    try {
      if (config.authMethod === 'private_key_jwt') {
        body.set('client_id', config.clientId)
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        body.set('client_assertion', await this.assertion())
      }
      response = await fetchJson(this.options.fetch, endpoint, this.options.timeout, {
        method: 'POST',
        headers,
        body: body.toString(),
      })
    } catch (cause) {
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

  /** A fresh RFC 7523 client assertion for `private_key_jwt`. */
  private async assertion(): Promise<string> {
    const { config } = this
    this.signingKey ??= (
      typeof config.privateKey === 'string'
        ? importPKCS8(config.privateKey, config.privateKeyAlg)
        : importJWK(config.privateKey as JWK, config.privateKeyAlg)
    ).catch((err: unknown) => {
      this.signingKey = undefined
      throw err
    })
    const key = await this.signingKey
    const kid =
      typeof config.privateKey === 'object'
        ? (config.privateKey as { kid?: unknown }).kid
        : undefined
    return new SignJWT({})
      .setProtectedHeader({
        alg: config.privateKeyAlg,
        ...(typeof kid === 'string' ? { kid } : {}),
      })
      .setIssuer(config.clientId)
      .setSubject(config.clientId)
      .setAudience(this.options.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(key)
  }
}
