import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'

/** An in-memory authorization server reached through an injected fetch (unit tests only). */
export interface FakeAs {
  issuer: string
  metadata: Record<string, unknown>
  fetch: typeof fetch
  /** Every request seen, in order. */
  requests: { url: string; method: string; headers: Headers; body: string }[]
  /** Answer of the token endpoint (default: a valid code/refresh response). */
  token: (body: URLSearchParams, headers: Headers) => Response | Promise<Response>
  /** Public keys served at jwks_uri. */
  jwks: { keys: JWK[] }
  jwksFetches: number
  signingKey: CryptoKey
  kid: string
  /** Mints an ID token signed with the current key; claims override the defaults. */
  idToken: (
    claims?: JWTPayload,
    header?: Record<string, unknown>,
    key?: CryptoKey,
  ) => Promise<string>
  clientId: string
}

export const ISSUER = 'https://as.example.com'

export async function createFakeAs(
  options: { clientId?: string; metadata?: Record<string, unknown> } = {},
): Promise<FakeAs> {
  const clientId = options.clientId ?? 'client-1'
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const kid = 'key-1'
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
  const metadata: Record<string, unknown> = {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/authorize`,
    token_endpoint: `${ISSUER}/token`,
    jwks_uri: `${ISSUER}/jwks`,
    pushed_authorization_request_endpoint: `${ISSUER}/par`,
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    ...options.metadata,
  }
  const as: FakeAs = {
    issuer: ISSUER,
    metadata,
    requests: [],
    jwks: { keys: [jwk] },
    jwksFetches: 0,
    signingKey: privateKey,
    kid,
    clientId,
    token: async (body) =>
      json({
        access_token: 'at-1',
        token_type: 'Bearer',
        expires_in: 300,
        refresh_token: 'rt-2',
        id_token: await as.idToken({ nonce: body.get('code') === 'no-nonce' ? undefined : 'n' }),
      }),
    idToken: (claims = {}, header = {}, key) => {
      const now = Math.floor(Date.now() / 1000)
      const payload: JWTPayload = {
        iss: ISSUER,
        aud: clientId,
        sub: 'user-1',
        iat: now,
        exp: now + 300,
        ...claims,
      }
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k]
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: as.kid, ...header } as never)
        .sign(key ?? as.signingKey)
    },
    fetch: async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      const headers = new Headers(init?.headers)
      const body = init?.body === undefined || init.body === null ? '' : String(init.body)
      as.requests.push({ url, method: init?.method ?? 'GET', headers, body })
      const path = new URL(url).pathname
      if (path === '/.well-known/openid-configuration') return json(as.metadata)
      if (path === '/jwks') {
        as.jwksFetches++
        return json(as.jwks)
      }
      if (path === '/token') return as.token(new URLSearchParams(body), headers)
      if (path === '/par')
        return json({ request_uri: 'urn:ietf:params:oauth:request_uri:abc', expires_in: 60 }, 201)
      return new Response('not found', { status: 404 })
    },
  }
  return as
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}
