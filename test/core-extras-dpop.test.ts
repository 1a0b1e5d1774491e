/**
 * DPoP (RFC 9449) against the real local AS: the `web-dpop` client (dpop_bound_access_tokens)
 * gets DPoP-bound tokens, refreshes them with the same key and calls userinfo with proofs.
 */
import {
  createAuthorizationRequest,
  createClient,
  createDPoPKey,
  fetchUserInfo,
  getDPoPKeyThumbprint,
  handleCallback,
  introspectToken,
  isCodegrantError,
  refreshTokens,
  type Client,
  type DPoPKey,
} from '@codegrant/core'
import { completeLogin, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let as: LocalAs
let key: DPoPKey
let jkt: string
let client: Client
let introspector: Client

function dpopClient(dpop?: DPoPKey): Promise<Client> {
  return createClient({
    issuer: as.issuer,
    clientId: localClients.webDpop.clientId,
    clientSecret: localClients.webDpop.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
    scope: 'openid profile email offline_access',
    ...(dpop && { dpop }),
  })
}

beforeAll(async () => {
  as = await startLocalAs()
  // As it would come back from configuration or a session store: plain JSON.
  key = JSON.parse(JSON.stringify(await createDPoPKey())) as DPoPKey
  jkt = await getDPoPKeyThumbprint(key)
  client = await dpopClient(key)
  introspector = await createClient({
    issuer: as.issuer,
    clientId: localClients.apiIntrospector.clientId,
    clientSecret: localClients.apiIntrospector.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
  })
})

afterAll(async () => {
  await as?.close()
})

async function login(resource?: string) {
  const { url, transaction } = await createAuthorizationRequest(
    client,
    resource ? { resource } : {},
  )
  expect(url.searchParams.get('dpop_jkt')).toBe(jkt)
  const response = await completeLogin(url)
  return handleCallback(client, response.url, transaction)
}

describe('DPoP-bound tokens (local AS, web-dpop)', () => {
  it('gets a DPoP access token bound to the key (cnf.jkt), refreshes it with the same key, calls userinfo', async () => {
    const { tokens, claims } = await login()
    expect(tokens.token_type).toBe('DPoP')
    expect(JSON.parse(JSON.stringify(tokens))).toEqual(tokens)
    const sub = claims?.sub as string

    const introspection = await introspectToken(introspector, tokens.access_token)
    expect(introspection.active).toBe(true)
    expect(introspection.token_type).toBe('DPoP')
    expect(introspection.cnf?.jkt).toBe(jkt)

    await expect(fetchUserInfo(client, tokens.access_token, sub)).resolves.toMatchObject({ sub })

    const refreshed = await refreshTokens(client, tokens)
    expect(refreshed.tokens.token_type).toBe('DPoP')
    expect(refreshed.tokens.access_token).not.toBe(tokens.access_token)
    const after = await introspectToken(introspector, refreshed.tokens.access_token)
    expect(after.cnf?.jkt).toBe(jkt)
    await expect(fetchUserInfo(client, refreshed.tokens.access_token, sub)).resolves.toMatchObject({
      sub,
    })
  })

  it('a JWT access token for an API carries cnf.jkt of the key', async () => {
    const { tokens } = await login('urn:codegrant:api')
    expect(tokens.token_type).toBe('DPoP')
    const payload = decodeJwt(tokens.access_token)
    expect(payload.cnf).toEqual({ jkt })
  })

  it('the bound token is refused without a proof or with another key', async () => {
    const { tokens, claims } = await login()
    const sub = claims?.sub as string

    const bearerOnly = await dpopClient()
    const noProof = await fetchUserInfo(bearerOnly, tokens.access_token, sub).catch(
      (e: unknown) => e,
    )
    expect(isCodegrantError(noProof)).toBe(true)
    expect(isCodegrantError(noProof) && noProof.status).toBe(401)

    const otherKey = await createDPoPKey()
    const wrongKey = await fetchUserInfo(client, tokens.access_token, sub, {
      dpop: otherKey,
    }).catch((e: unknown) => e)
    expect(isCodegrantError(wrongKey)).toBe(true)
    expect(isCodegrantError(wrongKey) && wrongKey.status).toBe(401)
  })

  it('a refresh binds the new access token to the key of its proof', async () => {
    // RFC 9449 section 5: a confidential client's refresh token is bound by client
    // authentication, not to the key, so the new access token follows the proof's key.
    const { tokens } = await login()
    const newKey = await createDPoPKey()
    const rotated = await dpopClient(newKey)
    const { tokens: next } = await refreshTokens(rotated, tokens)
    const introspection = await introspectToken(introspector, next.access_token)
    expect(introspection.cnf?.jkt).toBe(await getDPoPKeyThumbprint(newKey))
    expect(introspection.cnf?.jkt).not.toBe(jkt)
  })
})
