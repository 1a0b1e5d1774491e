import { createHash, randomBytes } from 'node:crypto'
import { localClients, localRedirectUris } from '../src/index.js'
import type { LocalAs } from '../src/index.js'

export const basic = localClients.webBasic

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  return { verifier, challenge }
}

export function authorizeUrl(as: LocalAs, params: Record<string, string>): URL {
  const url = new URL('/auth', as.issuer)
  const defaults = {
    client_id: basic.clientId,
    response_type: 'code',
    redirect_uri: 'http://127.0.0.1:45678/callback',
    scope: 'openid profile email',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
  }
  for (const [k, v] of Object.entries({ ...defaults, ...params })) url.searchParams.set(k, v)
  return url
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

export async function tokenRequest(
  as: LocalAs,
  body: Record<string, string>,
  client: { clientId: string; clientSecret: string } = {
    clientId: basic.clientId,
    clientSecret: basic.clientSecret,
  },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(new URL('/token', as.issuer), {
    method: 'POST',
    headers: {
      authorization: basicAuth(client.clientId, client.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(body).toString(),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

export { localRedirectUris }
