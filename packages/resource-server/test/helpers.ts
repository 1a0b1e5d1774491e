import { createHash, KeyObject, sign, type webcrypto } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

export const ISSUER = 'https://as.example.com'
export const AUDIENCE = 'https://api.example.com'
export const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`
export const JWKS_URI = `${ISSUER}/jwks`
export const INTROSPECTION = `${ISSUER}/introspect`

export interface SigningKey {
  alg: string
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function makeKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicJwk }
}

export const now = () => Math.floor(Date.now() / 1000)

/** An access token signed by `key`, with sane defaults that options may override or drop. */
export async function mint(
  key: SigningKey,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'client-1',
    iat: now(),
    exp: now() + 300,
    jti: Math.random().toString(36).slice(2),
    scope: 'read:messages',
    ...claims,
  }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  const protectedHeader = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }
  for (const [name, value] of Object.entries(protectedHeader))
    if (value === undefined) delete (protectedHeader as Record<string, unknown>)[name]
  return new SignJWT(payload)
    .setProtectedHeader(protectedHeader as { alg: string })
    .sign(key.privateKey)
}

export const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export interface FakeAs {
  fetch: typeof fetch
  counts: { discovery: number; jwks: number; introspection: number }
  keys: JWK[]
  down: boolean
  jwksDown: boolean
  introspectionStatus: number
  /** Answers introspection for a token (default: inactive). */
  introspect: (token: string, body: URLSearchParams, headers: Headers) => Record<string, unknown>
  /** Pending introspection responses are held until released (single-flight tests). */
  hold: Promise<void> | undefined
  requests: { url: string; body?: string; headers: Headers }[]
}

/** A fake authorization server behind an injected fetch, counting requests per endpoint. */
export function fakeAs(keys: JWK[], metadata: Record<string, unknown> = {}): FakeAs {
  const as: FakeAs = {
    counts: { discovery: 0, jwks: 0, introspection: 0 },
    keys,
    down: false,
    jwksDown: false,
    introspectionStatus: 200,
    introspect: () => ({ active: false }),
    hold: undefined,
    requests: [],
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input)
      const headers = new Headers(init?.headers)
      as.requests.push({ url, body: init?.body as string | undefined, headers })
      if (as.down) throw new TypeError('fetch failed')
      if (url === DISCOVERY) {
        as.counts.discovery++
        return Response.json({
          issuer: ISSUER,
          jwks_uri: JWKS_URI,
          introspection_endpoint: INTROSPECTION,
          ...metadata,
        })
      }
      if (url === JWKS_URI) {
        as.counts.jwks++
        if (as.jwksDown) return new Response('down', { status: 503 })
        return Response.json({ keys: as.keys })
      }
      if (url === INTROSPECTION) {
        as.counts.introspection++
        if (as.hold !== undefined) await as.hold
        if (as.introspectionStatus !== 200)
          return new Response('{"error":"server_error"}', { status: as.introspectionStatus })
        const body = new URLSearchParams(init?.body as string)
        return Response.json(as.introspect(body.get('token') ?? '', body, headers))
      }
      return new Response('not found', { status: 404 })
    }) as typeof fetch,
  }
  return as
}

export function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } }
}

/** Signs any header and payload as given (for headers jose refuses to produce, like `crit`). */
export function signRaw(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const privateKey = KeyObject.from(key.privateKey as unknown as webcrypto.CryptoKey)
  const digest = key.alg === 'EdDSA' ? null : `sha${key.alg.slice(2)}`
  const sig = sign(digest, Buffer.from(input), {
    key: privateKey,
    ...(key.alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  })
  return `${input}.${sig.toString('base64url')}`
}
