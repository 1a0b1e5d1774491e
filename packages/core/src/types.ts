/**
 * Plain-JSON data that @codegrant/core returns and takes back. Everything here survives a
 * `JSON.stringify` / `JSON.parse` round-trip through any session store.
 */

/**
 * The tokens of one grant. Protocol names are kept as on the wire.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface TokenSet {
  access_token: string
  /** `Bearer` or `DPoP` (normalised to that case). */
  token_type: string
  /** Expiry of the access token, in seconds since the epoch, when the AS gave `expires_in`. */
  expires_at?: number
  refresh_token?: string
  id_token?: string
  /** The granted scope, when the AS said it. */
  scope?: string
}

/** Claims of a validated ID token. */
export interface IdTokenClaims {
  iss: string
  sub: string
  aud: string | string[]
  exp: number
  iat: number
  nonce?: string
  auth_time?: number
  acr?: string
  amr?: string[]
  azp?: string
  sid?: string
  [claim: string]: unknown
}

/**
 * What must be kept between the authorization request and its callback (usually in the
 * user's session). Consume it exactly once.
 */
export interface LoginTransaction {
  /** The `state` sent; also the key to find this transaction again at the callback. */
  state: string
  /** The `nonce` sent (present when `openid` is in scope). */
  nonce?: string
  /** The PKCE verifier (the challenge sent was its S256 hash). */
  code_verifier: string
  /** The exact `redirect_uri` of the request, reused at the token endpoint. */
  redirect_uri: string
  /** `query` or `form_post`. */
  response_mode: 'query' | 'form_post'
  /** The scope requested. */
  scope: string
  /** The `max_age` requested, to check `auth_time` against. */
  max_age?: number
  /** The `resource` indicators requested (RFC 8707). */
  resource?: string[]
  /** Creation time, seconds since the epoch. */
  created_at: number
  /** Expiry, seconds since the epoch. */
  expires_at: number
}
