import { assertSecureUrl, tokenScheme } from '@codegrant/internal'
import { getClientSettings, type Client } from './client.js'
import { getDPoPKeyThumbprint, type DPoPKey } from './dpop-key.js'
import { createDPoPProof, selectDPoPKey } from './dpop.js'
import { CodegrantError } from './errors.js'
import { createBoundedFetch } from './http.js'
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
  dpop?: DPoPKey
}

/** Bound on the resource-server nonces remembered per client. */
const MAX_NONCES = 1000

const nonces = new WeakMap<Client, Map<string, string>>()
const fetches = new WeakMap<Client, typeof fetch>()

function boundedFetchOf(client: Client): typeof fetch {
  let bounded = fetches.get(client)
  if (!bounded) {
    const { fetch, timeout } = getClientSettings(client)
    bounded = createBoundedFetch(fetch, timeout)
    fetches.set(client, bounded)
  }
  return bounded
}

function remember(client: Client, key: string, response: Response): string | undefined {
  const nonce = response.headers.get('dpop-nonce')
  if (!nonce) return undefined
  let map = nonces.get(client)
  if (!map) {
    map = new Map()
    nonces.set(client, map)
  }
  map.delete(key)
  map.set(key, nonce)
  if (map.size > MAX_NONCES) {
    const oldest = map.keys().next().value
    if (oldest !== undefined) map.delete(oldest)
  }
  return nonce
}

/** RFC 9449 section 9: a 401 whose DPoP challenge says `use_dpop_nonce`. */
function wantsNonce(response: Response): boolean {
  if (response.status !== 401) return false
  const challenge = response.headers.get('www-authenticate') ?? ''
  return /\bdpop\b/i.test(challenge) && /error\s*=\s*"?use_dpop_nonce"?/i.test(challenge)
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
  const doFetch = boundedFetchOf(client)
  const send = (headers: Headers) =>
    doFetch(target, {
      method: method.toUpperCase(),
      headers,
      body: (request.body ?? null) as RequestInit['body'],
      redirect: 'manual',
    })

  if (type === 'Bearer') {
    const headers = new Headers(request.headers)
    headers.set('authorization', `Bearer ${tokens.access_token}`)
    return send(headers)
  }

  const key = selectDPoPKey(client, request.dpop)
  if (key === undefined) {
    throw new CodegrantError('ERR_DPOP', 'the access token is DPoP-bound but no DPoP key is set')
  }
  const nonceKey = `${await getDPoPKeyThumbprint(key)} ${target.origin}`
  let nonce = nonces.get(client)?.get(nonceKey)
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(request.headers)
    headers.set('authorization', `DPoP ${tokens.access_token}`)
    headers.set(
      'dpop',
      await createDPoPProof(key, {
        htm: method.toUpperCase(),
        htu: target,
        accessToken: tokens.access_token,
        ...(nonce !== undefined && { nonce }),
      }),
    )
    const response = await send(headers)
    const fresh = remember(client, nonceKey, response)
    if (attempt === 0 && fresh !== undefined && fresh !== nonce && wantsNonce(response)) {
      await response.body?.cancel()
      nonce = fresh
      continue
    }
    return response
  }
}
