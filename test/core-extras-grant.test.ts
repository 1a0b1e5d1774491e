/**
 * Core extras against the real local AS (oidc-provider): revocation, introspection, userinfo,
 * RP-initiated logout.
 */
import {
  buildEndSessionUrl,
  createAuthorizationRequest,
  createClient,
  fetchUserInfo,
  handleCallback,
  introspectToken,
  isCodegrantError,
  refreshTokens,
  revokeToken,
  type Client,
  type TokenSet,
} from '@codegrant/core'
import {
  completeLogin,
  completeLogout,
  CookieJar,
  localClients,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let as: LocalAs
let client: Client
let introspector: Client

beforeAll(async () => {
  as = await startLocalAs()
  client = await createClient({
    issuer: as.issuer,
    clientId: localClients.webBasic.clientId,
    clientSecret: localClients.webBasic.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
    postLogoutRedirectUri: 'http://127.0.0.1/',
    scope: 'openid profile email offline_access',
  })
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

async function login(jar?: CookieJar): Promise<{ tokens: TokenSet; sub: string }> {
  const { url, transaction } = await createAuthorizationRequest(client)
  const response = await completeLogin(url, jar ? { cookieJar: jar } : {})
  const { tokens, claims } = await handleCallback(client, response.url, transaction)
  expect(claims?.sub).toBeTypeOf('string')
  return { tokens, sub: claims?.sub as string }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return isCodegrantError(err) ? err.code : `not a CodegrantError: ${String(err)}`
}

describe('revocation and introspection (local AS)', () => {
  it('introspects an issued access token as active, then inactive after revocation', async () => {
    const { tokens, sub } = await login()
    const before = await introspectToken(introspector, tokens.access_token, 'access_token')
    expect(before.active).toBe(true)
    expect(before.sub).toBe(sub)
    expect(before.client_id).toBe(localClients.webBasic.clientId)
    expect(JSON.parse(JSON.stringify(before))).toEqual(before)

    await revokeToken(client, tokens.access_token, 'access_token')
    await expect(introspectToken(introspector, tokens.access_token)).resolves.toEqual({
      active: false,
    })
  })

  it('a revoked refresh token is refused by the AS: refreshTokens fails with ERR_INVALID_GRANT', async () => {
    const { tokens } = await login()
    expect(tokens.refresh_token).toBeTypeOf('string')
    const refreshToken = tokens.refresh_token as string
    await expect(
      introspectToken(introspector, refreshToken, 'refresh_token'),
    ).resolves.toMatchObject({ active: true })
    await revokeToken(client, refreshToken, 'refresh_token')
    await expect(introspectToken(introspector, refreshToken)).resolves.toEqual({ active: false })
    expect(await codeOf(refreshTokens(client, tokens))).toBe('ERR_INVALID_GRANT')
  })

  it('revoking an unknown token succeeds (RFC 7009 section 2.2)', async () => {
    await expect(revokeToken(client, 'not-a-token-the-as-knows')).resolves.toBeUndefined()
  })

  it('a client with the wrong secret gets a typed error', async () => {
    const wrong = await createClient({
      issuer: as.issuer,
      clientId: localClients.webBasic.clientId,
      clientSecret: 'wrong-secret',
      redirectUri: 'http://127.0.0.1/callback',
    })
    const err = await revokeToken(wrong, 'whatever').catch((e: unknown) => e)
    expect(isCodegrantError(err, 'ERR_CLIENT_AUTH_REFUSED')).toBe(true)
    expect(isCodegrantError(err) && err.error).toBe('invalid_client')
  })
})

describe('userinfo (local AS)', () => {
  it('returns the claims of the logged-in user', async () => {
    const { tokens, sub } = await login()
    const info = await fetchUserInfo(client, tokens.access_token, sub)
    expect(info.sub).toBe(sub)
    expect(info.email).toBeTypeOf('string')
  })

  it('fails with ERR_USERINFO_SUB_MISMATCH for another expected sub', async () => {
    const { tokens } = await login()
    expect(await codeOf(fetchUserInfo(client, tokens.access_token, 'someone-else'))).toBe(
      'ERR_USERINFO_SUB_MISMATCH',
    )
  })

  it('a revoked access token is refused with invalid_token', async () => {
    const { tokens, sub } = await login()
    await revokeToken(client, tokens.access_token, 'access_token')
    const err = await fetchUserInfo(client, tokens.access_token, sub).catch((e: unknown) => e)
    expect(isCodegrantError(err, 'ERR_TOKEN_ERROR')).toBe(true)
    expect(isCodegrantError(err) && err.error).toBe('invalid_token')
    expect(isCodegrantError(err) && err.status).toBe(401)
  })
})

describe('RP-initiated logout (local AS)', () => {
  it('the end-session URL is accepted: the AS ends the session and redirects back with state', async () => {
    const jar = new CookieJar()
    const { tokens } = await login(jar)
    const url = buildEndSessionUrl(client, {
      idTokenHint: tokens.id_token as string,
      state: 'bye-1',
    })
    expect(url).toBeInstanceOf(URL)
    expect(url?.href.startsWith(`${as.issuer}/session/end?`)).toBe(true)
    const end = await completeLogout(url as URL, { cookieJar: jar })
    expect(end.url.origin + end.url.pathname).toBe('http://127.0.0.1/')
    expect(end.url.searchParams.get('state')).toBe('bye-1')

    // The AS session is gone: a new authorization request asks for the login again.
    const again = await createAuthorizationRequest(client, { prompt: 'none' })
    const response = await completeLogin(again.url, { cookieJar: jar })
    expect(response.url.searchParams.get('error')).toBe('login_required')
  })

  it('without id_token_hint the AS shows its confirmation page', async () => {
    const url = buildEndSessionUrl(client, { postLogoutRedirectUri: 'http://127.0.0.1/' })
    const response = await fetch(url as URL, { redirect: 'manual' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/html/)
    await response.body?.cancel()
  })
})
