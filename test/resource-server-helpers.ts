// Helpers for the resource-server integration tests: real tokens from the local oidc-provider AS.
import { createHash, randomBytes } from 'node:crypto'
import { completeLogin, localClients, type LocalAs } from '@codegrant/local-as'

export const REDIRECT_URI = 'http://127.0.0.1:45678/callback'

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

/**
 * Logs the demo user in with the authorization code grant and PKCE, and returns the token
 * response (access_token, id_token, ...). `resource` picks the API (JWT or opaque tokens).
 */
export async function getTokens(
  as: LocalAs,
  options: {
    resource?: string
    scope?: string
    client?: { clientId: string; clientSecret?: string }
    dpop?: string
  } = {},
): Promise<Record<string, unknown>> {
  const client = options.client ?? localClients.webBasic
  const verifier = randomBytes(32).toString('base64url')
  const url = new URL('/auth', as.issuer)
  const params: Record<string, string> = {
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: options.scope ?? 'openid read:messages',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }
  if (options.resource !== undefined) params.resource = options.resource
  url.search = new URLSearchParams(params).toString()
  const response = await completeLogin(url)
  const code = response.url.searchParams.get('code')
  if (code === null) throw new Error('no code in the authorization response')
  const headers: Record<string, string> = {
    authorization: basicAuth(client.clientId, client.clientSecret ?? ''),
    'content-type': 'application/x-www-form-urlencoded',
  }
  if (options.dpop !== undefined) headers.dpop = options.dpop
  const token = await fetch(new URL('/token', as.issuer), {
    method: 'POST',
    headers,
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }).toString(),
  })
  const json = (await token.json()) as Record<string, unknown>
  if (token.status !== 200) throw new Error(`token endpoint answered ${token.status}`)
  return json
}

export async function getAccessToken(
  as: LocalAs,
  options: Parameters<typeof getTokens>[1] = {},
): Promise<string> {
  return (await getTokens(as, options)).access_token as string
}
