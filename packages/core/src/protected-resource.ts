import { assertSecureUrl, tokenScheme } from '@codegrant/internal'
import * as openid from 'openid-client'
import { getClientSettings, getConfiguration, type Client } from './client.js'
import type { DpopKey } from './dpop-key.js'
import { getDpopHandle, selectDpopKey } from './dpop.js'
import { CodegrantError } from './errors.js'
import { createBoundedFetch } from './http.js'
import { toCodegrantError } from './map-error.js'
import type { TokenSet } from './types.js'

/** Options of {@link fetchProtectedResource}. */
export interface ProtectedResourceRequest {
  /** @default 'GET' */
  method?: string
  /**
   * Request headers: what the Fetch `HeadersInit` allows (spelled out, so that these declarations
   * need no DOM lib). `authorization`, and `dpop` for a DPoP-bound token, are set over them.
   */
  headers?: Headers | Record<string, string> | [string, string][]
  /** A body that can be sent twice (a DPoP nonce retry resends it). */
  body?: string | Uint8Array | URLSearchParams | null
  /** The DPoP key of a DPoP-bound token. @default the client's `dpop` key */
  dpop?: DpopKey
}

// The request itself is openid-client's `fetchProtectedResource` (DPoP proof, `DPoP-Nonce`
// caching per origin in the key's handle, the one `use_dpop_nonce` retry). It runs on a sibling
// `Configuration` of the client's, for two behaviours the client's own cannot give an API call:
// - its fetch is bounded by `timeout` (covering the body) but not by `maxResponseSize`, which
//   limits responses of the authorization server, not of the app's APIs;
// - openid-client allows plain http for every URL of a configuration or for none, while an API
//   URL is checked on its own here (https, or http on a loopback host: `assertSecureUrl`), so the
//   sibling allows http and this module refuses it first.
const configurations = new WeakMap<Client, openid.Configuration>()

function resourceConfiguration(client: Client): openid.Configuration {
  let configuration = configurations.get(client)
  if (!configuration) {
    const { fetch, timeout } = getClientSettings(client)
    configuration = new openid.Configuration(
      getConfiguration(client).serverMetadata(),
      client.clientId,
      {},
      openid.None(),
    )
    configuration[openid.customFetch] = createBoundedFetch(
      fetch,
      timeout,
    ) as unknown as openid.CustomFetch
    configuration.timeout = timeout / 1000
    openid.allowInsecureRequests(configuration)
    configurations.set(client, configuration)
  }
  return configuration
}

/**
 * Calls a protected resource (an API) with an access token: `Authorization: Bearer`, or for a
 * DPoP-bound token (`token_type: 'DPoP'`) `Authorization: DPoP` with a fresh proof (`htm`,
 * `htu`, `ath`). A resource server's nonce (`DPoP-Nonce`) is remembered per origin and key,
 * and a `401` asking for one (`use_dpop_nonce`) is retried once with it. Requests use the
 * client's `fetch` and `timeout`. The response is returned as is, whatever its status.
 *
 * @param url `https:`, or `http:` on a loopback host only.
 * @throws TypeError for a bad `url`, `tokens` or `request`
 * @throws CodegrantError `ERR_DPOP` (DPoP-bound token but no key, or no proof could be made),
 *   `ERR_TOKEN_TYPE_UNSUPPORTED` (neither Bearer nor DPoP), `ERR_TIMEOUT`, `ERR_NETWORK`
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
export async function fetchProtectedResource(
  client: Client,
  tokens: Pick<TokenSet, 'access_token' | 'token_type'>,
  url: string | URL,
  request: ProtectedResourceRequest = {},
): Promise<Response> {
  if (
    typeof tokens !== 'object' ||
    tokens === null ||
    typeof tokens.access_token !== 'string' ||
    !tokens.access_token
  ) {
    throw new TypeError('"tokens" must be a TokenSet with an access_token')
  }
  let target: URL
  try {
    target = new URL(url)
  } catch {
    throw new TypeError('"url" must be an absolute URL')
  }
  assertSecureUrl(target, 'url')
  const method = request.method ?? 'GET'
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
    throw new TypeError('"method" must be an HTTP method name')
  }
  const body = request.body
  if (
    body !== undefined &&
    body !== null &&
    typeof body !== 'string' &&
    !(body instanceof Uint8Array) &&
    !(body instanceof URLSearchParams)
  ) {
    throw new TypeError('"body" must be a string, Uint8Array or URLSearchParams')
  }
  const type = tokenScheme(tokens.token_type)
  if (type === undefined) {
    throw new CodegrantError(
      'ERR_TOKEN_TYPE_UNSUPPORTED',
      'the token_type is neither Bearer nor DPoP',
    )
  }
  let dpop: { DPoP: openid.DPoPHandle } | undefined
  if (type === 'DPoP') {
    const key = selectDpopKey(client, request.dpop)
    if (key === undefined) {
      throw new CodegrantError('ERR_DPOP', 'the access token is DPoP-bound but no DPoP key is set')
    }
    dpop = { DPoP: await getDpopHandle(client, key) }
  }
  try {
    return await openid.fetchProtectedResource(
      resourceConfiguration(client),
      tokens.access_token,
      target,
      method.toUpperCase(),
      body ?? null,
      new Headers(request.headers),
      dpop,
    )
  } catch (err) {
    // openid-client throws for any answer with a `WWW-Authenticate` challenge (after its one
    // nonce retry); this function returns every answer as is, whatever its status.
    if (err instanceof openid.WWWAuthenticateChallengeError) return err.response
    throw toCodegrantError(err, 'protected resource request')
  }
}
