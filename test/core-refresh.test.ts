/**
 * @codegrant/core refresh against the real local AS (oidc-provider, refresh tokens rotated on
 * every use): rotation, single-flight of concurrent refreshes, the grace window for
 * latecomers, and invalid_grant on reuse.
 */
import {
  createAuthorizationRequest,
  createClient,
  handleCallback,
  isCodegrantError,
  refreshTokens,
  type Client,
  type TokenSet,
} from '@codegrant/core'
import { completeLogin, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let as: LocalAs
let client: Client

function newClient(): Promise<Client> {
  return createClient({
    issuer: as.issuer,
    clientId: localClients.webBasic.clientId,
    clientSecret: localClients.webBasic.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
    scope: 'openid profile offline_access',
  })
}

beforeAll(async () => {
  as = await startLocalAs()
  client = await newClient()
})

afterAll(async () => {
  await as?.close()
})

beforeEach(() => {
  as.resetCounts()
})

async function login(): Promise<{ tokens: TokenSet; sub: string }> {
  const { url, transaction } = await createAuthorizationRequest(client, { prompt: 'consent' })
  const response = await completeLogin(url)
  const { tokens, claims } = await handleCallback(client, response.url, transaction)
  expect(tokens.refresh_token).toBeTypeOf('string')
  return { tokens, sub: claims?.sub as string }
}

describe('refreshTokens against the local AS', () => {
  it('rotates the refresh token and validates the new ID token (same sub)', async () => {
    const { tokens, sub } = await login()
    const { tokens: next, claims } = await refreshTokens(client, tokens)
    expect(next.refresh_token).toBeTypeOf('string')
    expect(next.refresh_token).not.toBe(tokens.refresh_token)
    expect(next.access_token).not.toBe(tokens.access_token)
    expect(next.id_token).toBeTypeOf('string')
    expect(claims?.sub ?? sub).toBe(sub)
    expect(as.grantCount('refresh_token')).toBe(1)
  })

  it('makes exactly one refresh grant for 10 concurrent calls, all getting the same new set', async () => {
    const { tokens } = await login()
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refreshTokens(client, tokens)),
    )
    expect(as.grantCount('refresh_token')).toBe(1)
    const first = results[0]?.tokens
    expect(first?.refresh_token).not.toBe(tokens.refresh_token)
    for (const r of results) expect(r.tokens).toEqual(first)
  })

  it('gives a latecomer holding the old refresh token the new set within the grace window', async () => {
    const { tokens } = await login()
    const { tokens: next } = await refreshTokens(client, tokens)
    const late = await refreshTokens(client, tokens.refresh_token as string)
    expect(late.tokens).toEqual(next)
    expect(as.grantCount('refresh_token')).toBe(1)
    // The new refresh token works in turn.
    const { tokens: third } = await refreshTokens(client, next)
    expect(third.refresh_token).not.toBe(next.refresh_token)
    expect(as.grantCount('refresh_token')).toBe(2)
  })

  it('answers ERR_INVALID_GRANT when another process replays a rotated refresh token', async () => {
    const { tokens } = await login()
    await refreshTokens(client, tokens)
    const otherProcess = await newClient()
    const err = await refreshTokens(otherProcess, tokens).catch((e: unknown) => e)
    expect(isCodegrantError(err, 'ERR_INVALID_GRANT')).toBe(true)
    expect((err as Error).message).not.toContain(tokens.refresh_token as string)
  })
})
