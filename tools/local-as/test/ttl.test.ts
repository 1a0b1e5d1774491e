import { decodeJwt } from 'jose'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { completeLogin, startLocalAs, type LocalAs } from '../src/index.js'
import { authorizeUrl, pkce, tokenRequest } from './helpers.js'

let as: LocalAs

beforeAll(async () => {
  as = await startLocalAs({
    ttl: { AccessToken: 3600 },
    resourceServers: {
      'urn:codegrant:short-api': { scope: 'read:messages', accessTokenTTL: 120 },
    },
  })
})
afterAll(async () => {
  await as.close()
})

async function accessToken(params: Record<string, string>) {
  const { verifier, challenge } = pkce()
  const url = authorizeUrl(as, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  })
  const result = await completeLogin(url)
  const { json } = await tokenRequest(as, {
    grant_type: 'authorization_code',
    code: result.url.searchParams.get('code') as string,
    redirect_uri: url.searchParams.get('redirect_uri') as string,
    code_verifier: verifier,
  })
  return json
}

it("an API's accessTokenTTL wins over ttl.AccessToken; other tokens keep ttl.AccessToken", async () => {
  const api = await accessToken({
    scope: 'openid read:messages',
    resource: 'urn:codegrant:short-api',
  })
  expect(api.expires_in).toBe(120)
  const claims = decodeJwt(api.access_token as string)
  expect((claims.exp as number) - (claims.iat as number)).toBe(120)

  const userinfoToken = await accessToken({ scope: 'openid' })
  expect(userinfoToken.expires_in).toBe(3600)
})
