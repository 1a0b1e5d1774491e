import { optionalString } from '@codegrant/internal'
import * as openid from 'openid-client'
import { clientAuthContext, getClientSettings, getConfiguration, type Client } from './client.js'
import { dpopJkt, dpopOptions } from './dpop.js'
import { CodegrantError } from './errors.js'
import { toCodegrantError } from './map-error.js'
import type { ResponseMode } from './options.js'
import type { LoginTransaction } from './types.js'

/** Parameters of one authorization request (all optional). */
export interface AuthorizationRequestParams {
  /** The scope; `openid` in it adds a `nonce`. @default the client's `scope` */
  scope?: string
  /** RFC 8707 resource indicators (absolute URIs). */
  resource?: string | string[]
  /** `audience` (non-standard, understood by some ASs). */
  audience?: string
  /** `prompt` (`login`, `consent`, `none`, ...). */
  prompt?: string
  /** `login_hint`. */
  loginHint?: string
  /** `acr_values`. */
  acrValues?: string
  /** `max_age` in seconds: the ID token's `auth_time` is then required and checked. */
  maxAge?: number
  /** `query` or `form_post`. @default the client's `responseMode` */
  responseMode?: ResponseMode
  /** Push the request (PAR). Always true when the AS metadata requires PAR. */
  usePar?: boolean
  /**
   * Any other parameter. May not set what this function controls (`state`, `nonce`, PKCE,
   * `redirect_uri`, `response_type`, `client_id`, ... or a named option above): TypeError.
   */
  authorizationParams?: Record<string, string>
}

/** A ready authorization request: redirect the user agent to `url`, store `transaction`. */
export interface AuthorizationRequest {
  /** The authorization endpoint URL to redirect to. */
  url: URL
  /** What the callback needs: keep it (in the session) and pass it to `handleCallback`. */
  transaction: LoginTransaction
}

const RESERVED: Record<string, string> = {
  state: 'state',
  nonce: 'nonce',
  code_challenge: 'PKCE',
  code_challenge_method: 'PKCE',
  code_verifier: 'PKCE',
  redirect_uri: 'redirectUri',
  response_type: 'response_type',
  client_id: 'clientId',
  client_secret: 'clientSecret',
  client_assertion: 'client authentication',
  client_assertion_type: 'client authentication',
  request: 'request objects',
  request_uri: 'usePar',
  response_mode: 'responseMode',
  scope: 'scope',
  resource: 'resource',
  audience: 'audience',
  prompt: 'prompt',
  login_hint: 'loginHint',
  acr_values: 'acrValues',
  max_age: 'maxAge',
  dpop_jkt: 'dpop',
}

/**
 * Builds an authorization code request with every protection on: a 256-bit `state`, a
 * `nonce` when `openid` is in scope, PKCE S256 always, and PAR when the AS requires it (or
 * when asked). Returns the URL to redirect to and the {@link LoginTransaction} to keep
 * until the callback, as plain JSON.
 *
 * @throws TypeError on bad parameters (an `authorizationParams` entry may not override a protocol or
 *   security parameter)
 * @throws CodegrantError `ERR_UNSUPPORTED` (PAR asked but no PAR endpoint; form_post asked but
 *   not in `response_modes_supported`), or the mapped error
 *   of the PAR request
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc9126
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
 */
export async function createAuthorizationRequest(
  client: Client,
  params: AuthorizationRequestParams = {},
): Promise<AuthorizationRequest> {
  const settings = getClientSettings(client)
  const config = getConfiguration(client)
  if (typeof params !== 'object' || params === null) {
    throw new TypeError('"params" must be an object')
  }
  const scope = optionalString(params.scope, 'scope') ?? settings.scope
  const resource =
    params.resource === undefined
      ? []
      : Array.isArray(params.resource)
        ? params.resource
        : [params.resource]
  for (const value of resource) {
    try {
      if (typeof value !== 'string' || new URL(value).hash) throw new TypeError()
    } catch {
      throw new TypeError('"resource" must be absolute URIs without a fragment')
    }
  }
  const audience = optionalString(params.audience, 'audience')
  const prompt = optionalString(params.prompt, 'prompt')
  const loginHint = optionalString(params.loginHint, 'loginHint')
  const acrValues = optionalString(params.acrValues, 'acrValues')
  const maxAge = params.maxAge
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge < 0)) {
    throw new TypeError('"maxAge" must be a non-negative integer')
  }
  const responseMode = params.responseMode ?? settings.responseMode
  if (responseMode !== 'query' && responseMode !== 'form_post') {
    throw new TypeError('"responseMode" must be "query" or "form_post"')
  }
  const extra = params.authorizationParams ?? {}
  if (typeof extra !== 'object' || extra === null) {
    throw new TypeError('"authorizationParams" must be an object')
  }
  for (const [key, value] of Object.entries(extra)) {
    const owner = RESERVED[key.toLowerCase()]
    if (owner !== undefined) {
      throw new TypeError(`"authorizationParams" may not set "${key}" (controlled by ${owner})`)
    }
    if (typeof value !== 'string') {
      throw new TypeError(`"authorizationParams.${key}" must be a string`)
    }
  }

  const metadata = client.metadata
  const modes = metadata.response_modes_supported
  if (responseMode === 'form_post' && Array.isArray(modes) && !modes.includes('form_post')) {
    throw new CodegrantError(
      'ERR_UNSUPPORTED',
      'the authorization server does not support form_post',
    )
  }
  const parRequired = metadata.require_pushed_authorization_requests === true
  const usePar = parRequired || (params.usePar ?? settings.usePar)
  if (usePar && typeof metadata.pushed_authorization_request_endpoint !== 'string') {
    throw new CodegrantError(
      'ERR_UNSUPPORTED',
      'the authorization server has no pushed_authorization_request_endpoint',
    )
  }

  const openidScope = scope.split(' ').includes('openid')
  const state = openid.randomState()
  const nonce = openidScope ? openid.randomNonce() : undefined
  const codeVerifier = openid.randomPKCECodeVerifier()
  const codeChallenge = await openid.calculatePKCECodeChallenge(codeVerifier)
  const redirectUri = settings.redirectUri

  const query = new URLSearchParams(extra)
  query.set('redirect_uri', redirectUri)
  query.set('scope', scope)
  query.set('state', state)
  if (nonce !== undefined) query.set('nonce', nonce)
  query.set('code_challenge', codeChallenge)
  query.set('code_challenge_method', 'S256')
  if (responseMode === 'form_post') query.set('response_mode', 'form_post')
  for (const value of resource) query.append('resource', value)
  if (audience !== undefined) query.set('audience', audience)
  if (prompt !== undefined) query.set('prompt', prompt)
  if (loginHint !== undefined) query.set('login_hint', loginHint)
  if (acrValues !== undefined) query.set('acr_values', acrValues)
  if (maxAge !== undefined) query.set('max_age', String(maxAge))
  const jkt = await dpopJkt(client)
  if (jkt !== undefined) query.set('dpop_jkt', jkt)

  let url: URL
  if (usePar) {
    try {
      url = await openid.buildAuthorizationUrlWithPAR(config, query, await dpopOptions(client))
    } catch (err) {
      throw toCodegrantError(err, 'pushed authorization request', clientAuthContext(client))
    }
  } else {
    url = openid.buildAuthorizationUrl(config, query)
  }

  const now = Math.floor(Date.now() / 1000)
  const transaction: LoginTransaction = {
    state,
    ...(nonce !== undefined && { nonce }),
    code_verifier: codeVerifier,
    redirect_uri: redirectUri,
    response_mode: responseMode,
    scope,
    ...(maxAge !== undefined && { max_age: maxAge }),
    ...(resource.length > 0 && { resource: [...resource] }),
    created_at: now,
    expires_at: now + settings.transactionTtl,
  }
  return { url, transaction }
}
