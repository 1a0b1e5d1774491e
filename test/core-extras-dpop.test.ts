/**
 * DPoP (RFC 9449) against the real local AS: the `web-dpop` client (dpop_bound_access_tokens)
 * gets DPoP-bound tokens, refreshes them with the same key and calls userinfo with proofs.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createAuthorizationRequest,
  createClient,
  createDpopKey,
  fetchProtectedResource,
  fetchUserInfo,
  getDpopKeyThumbprint,
  handleCallback,
  introspectToken,
  isCodegrantError,
  refreshTokens,
  type Client,
  type DpopKey,
} from '@codegrant/core'
import { completeLogin, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { tokenErrorHandler, requireToken } from '@codegrant/resource-server/express'
import express from 'express'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let as: LocalAs
let key: DpopKey
let jkt: string
let client: Client
let introspector: Client
let api: Server
let apiUrl: string
let apiHits = 0

function dpopClient(dpop?: DpopKey): Promise<Client> {
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
  key = JSON.parse(JSON.stringify(await createDpopKey())) as DpopKey
  jkt = await getDpopKeyThumbprint(key)
  client = await dpopClient(key)
  introspector = await createClient({
    issuer: as.issuer,
    clientId: localClients.apiIntrospector.clientId,
    clientSecret: localClients.apiIntrospector.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
  })

  // An API protected by @codegrant/resource-server that demands DPoP nonces (RFC 9449 §9).
  const app = express()
  app.use((_req, _res, next) => {
    apiHits++
    next()
  })
  app.get(
    '/api/private',
    requireToken({
      issuer: as.issuer,
      audience: 'urn:codegrant:api',
      dpop: { nonceSecret: 'a-test-only-nonce-secret-of-32-bytes-or-more' },
    }),
    (req, res) => {
      res.json({ sub: req.accessToken?.sub, bound: req.accessToken?.claims.cnf })
    },
  )
  app.use(tokenErrorHandler())
  api = createServer(app)
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
})

afterAll(async () => {
  await as?.close()
  api?.closeAllConnections()
  await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()))
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
    await expect(fetchUserInfo(client, refreshed.tokens, sub)).resolves.toMatchObject({
      sub,
    })
  })

  it('a JWT access token for an API carries cnf.jkt of the key', async () => {
    const { tokens } = await login('urn:codegrant:api')
    expect(tokens.token_type).toBe('DPoP')
    const payload = decodeJwt(tokens.access_token)
    expect(payload.cnf).toEqual({ jkt })
  })

  it('calls a DPoP-protected API: proof, nonce retry, cnf.jkt checked by the resource server', async () => {
    const { tokens, claims } = await login('urn:codegrant:api')
    apiHits = 0
    const response = await fetchProtectedResource(client, tokens, `${apiUrl}/api/private`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ sub: claims?.sub, bound: { jkt } })
    expect(apiHits).toBe(2) // refused without a nonce, then accepted with it

    // The nonce is remembered: the next call succeeds at once.
    const again = await fetchProtectedResource(client, tokens, `${apiUrl}/api/private`)
    expect(again.status).toBe(200)
    await again.body?.cancel()
    expect(apiHits).toBe(3)

    // Without a key of its own, a client holding the token cannot use it.
    const thief = await dpopClient(await createDpopKey())
    const stolen = await fetchProtectedResource(thief, tokens, `${apiUrl}/api/private`)
    expect(stolen.status).toBe(401)
    expect(stolen.headers.get('www-authenticate')).toMatch(/^DPoP /)
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

    const otherKey = await createDpopKey()
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
    const newKey = await createDpopKey()
    const rotated = await dpopClient(newKey)
    const { tokens: next } = await refreshTokens(rotated, tokens)
    const introspection = await introspectToken(introspector, next.access_token)
    expect(introspection.cnf?.jkt).toBe(await getDpopKeyThumbprint(newKey))
    expect(introspection.cnf?.jkt).not.toBe(jkt)
  })
})
