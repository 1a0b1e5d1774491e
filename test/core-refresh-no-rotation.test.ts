/**
 * Regression (issue 8.1): against an AS that does not rotate refresh tokens (as LemonLDAP::NG),
 * the refresh grace window must never hand out an expired (or nearly expired) token set, and a
 * forced refresh must reach the AS. The local AS runs with `rotateRefreshToken: false` and
 * 2-second access tokens.
 */
import {
  createAuthorizationRequest,
  createClient,
  handleCallback,
  isExpired,
  refreshTokens,
  type Client,
  type TokenSet,
} from '@codegrant/core'
import { completeLogin, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

const LIFETIME_S = 2

let as: LocalAs
let client: Client

beforeAll(async () => {
  as = await startLocalAs({ rotateRefreshToken: false, ttl: { AccessToken: LIFETIME_S } })
  client = await createClient({
    issuer: as.issuer,
    clientId: localClients.webBasic.clientId,
    clientSecret: localClients.webBasic.clientSecret,
    redirectUri: 'http://127.0.0.1/callback',
    scope: 'openid profile offline_access',
  })
})

afterAll(async () => {
  await as?.close()
})

beforeEach(() => {
  as.resetCounts()
})

async function login(): Promise<TokenSet> {
  const { url, transaction } = await createAuthorizationRequest(client, { prompt: 'consent' })
  const response = await completeLogin(url)
  const { tokens } = await handleCallback(client, response.url, transaction)
  expect(tokens.refresh_token).toBeTypeOf('string')
  return tokens
}

describe('refreshTokens against an AS that does not rotate refresh tokens', () => {
  it('keeps the refresh token (the premise of this suite)', async () => {
    const tokens = await login()
    const { tokens: next } = await refreshTokens(client, tokens)
    expect(next.refresh_token).toBe(tokens.refresh_token)
  })

  it('refreshes at the AS again once the kept set expired, inside the 10 s grace window', async () => {
    const tokens = await login()
    const { tokens: first } = await refreshTokens(client, tokens)
    expect(as.grantCount('refresh_token')).toBe(1)
    await sleep(LIFETIME_S * 1000 + 200)
    expect(isExpired(first, 0)).toBe(true)

    const { tokens: second } = await refreshTokens(client, tokens)
    expect(as.grantCount('refresh_token')).toBe(2)
    expect(second.access_token).not.toBe(first.access_token)
    expect(isExpired(second, 0)).toBe(false)
  })

  it('sends a forced refresh to the AS right after another one', async () => {
    const tokens = await login()
    const { tokens: first } = await refreshTokens(client, tokens)
    const { tokens: forced } = await refreshTokens(client, tokens, { force: true })
    expect(as.grantCount('refresh_token')).toBe(2)
    expect(forced.access_token).not.toBe(first.access_token)
  })
})
