import { createPrivateKey } from 'node:crypto'
import { types } from 'node:util'
import { importJWK, type CryptoKey, type JWK } from 'jose'
import * as openid from 'openid-client'
import type { ResolvedOptions } from './options.js'

/** Picks the JWS algorithm of a private JWK when it does not say (`alg`). */
function algOf(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg
  switch (jwk.kty) {
    case 'RSA':
      return 'RS256'
    case 'EC':
      return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256'
    case 'OKP':
      return 'Ed25519'
    default:
      throw new TypeError('"privateKey" must be an RSA, EC or OKP private key')
  }
}

/** Imports the `private_key_jwt` key (JWK, PKCS#8 PEM or CryptoKey) as a non-extractable CryptoKey. */
export async function importPrivateKey(
  key: JWK | string | CryptoKey,
  kid: string | undefined,
): Promise<{ key: CryptoKey; kid?: string }> {
  if (types.isCryptoKey(key)) {
    if (key.type !== 'private') throw new TypeError('"privateKey" must be a private key')
    return kid === undefined ? { key } : { key, kid }
  }
  let jwk: JWK
  if (typeof key === 'string') {
    try {
      jwk = createPrivateKey(key).export({ format: 'jwk' }) as JWK
    } catch (cause) {
      throw new TypeError('"privateKey" is not a valid PEM private key', { cause })
    }
  } else {
    jwk = key as JWK
    if (typeof jwk.d !== 'string') throw new TypeError('"privateKey" must be a private JWK')
  }
  let imported: CryptoKey
  try {
    const result = await importJWK({ ...jwk, ext: false }, algOf(jwk), { extractable: false })
    if (result instanceof Uint8Array) throw new TypeError('symmetric key')
    imported = result
  } catch (cause) {
    throw new TypeError('"privateKey" could not be imported', { cause })
  }
  const finalKid = kid ?? (typeof jwk.kid === 'string' ? jwk.kid : undefined)
  return finalKid === undefined ? { key: imported } : { key: imported, kid: finalKid }
}

/**
 * The `application/x-www-form-urlencoded` encoding of a `client_secret_basic` user name or
 * password (RFC 6749 section 2.3.1, appendix B): UTF-8, space as `+`, the RFC 3986 unreserved
 * characters `A-Z a-z 0-9 - . _ ~` as they are, every other byte percent-encoded (upper-case
 * hex). oauth4webapi also escapes `- . _ ~`, which servers that do not percent-decode the
 * credentials (Glewlwyd, LemonLDAP::NG) then look up literally (`web%2Dapp`); a server that
 * decodes gets the same value either way.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function formEncodeCredential(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]|%20/g, (match) =>
    match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/**
 * `client_secret_basic`: `Authorization: Basic base64(encode(client_id) ":" encode(secret))`,
 * with {@link formEncodeCredential}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function clientSecretBasic(secret: string): openid.ClientAuth {
  return (_as, client, _body, headers) => {
    const credentials = `${formEncodeCredential(client.client_id)}:${formEncodeCredential(secret)}`
    headers.set('authorization', `Basic ${Buffer.from(credentials, 'ascii').toString('base64')}`)
  }
}

/**
 * Builds the openid-client client-authentication function for the resolved options.
 * `client_secret_basic` is our own {@link clientSecretBasic} (openid-client defaults to post,
 * and its Basic encoding escapes unreserved characters). Client
 * assertions get `aud` = issuer (default) or the token endpoint.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export async function createClientAuth(options: ResolvedOptions): Promise<openid.ClientAuth> {
  const secret = options.clientSecret ?? ''
  const audience = (
    as: openid.ServerMetadata,
  ): { [openid.modifyAssertion]: openid.ModifyAssertionFunction } => ({
    [openid.modifyAssertion]: (_header, payload) => {
      if (options.assertionAudience === 'token_endpoint' && as.token_endpoint) {
        payload.aud = as.token_endpoint
      }
    },
  })
  switch (options.clientAuthMethod) {
    case 'client_secret_basic':
      return clientSecretBasic(secret)
    case 'client_secret_post':
      return openid.ClientSecretPost(secret)
    case 'client_secret_jwt':
      return (as, client, body, headers) =>
        openid.ClientSecretJwt(secret, audience(as))(as, client, body, headers)
    case 'private_key_jwt': {
      const privateKey = await importPrivateKey(
        options.privateKey as JWK | string | CryptoKey,
        options.privateKeyId,
      )
      return (as, client, body, headers) =>
        openid.PrivateKeyJwt(privateKey, audience(as))(as, client, body, headers)
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      return openid.TlsClientAuth()
    case 'none':
      return openid.None()
  }
}
