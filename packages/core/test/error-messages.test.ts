// Errors that name the fix (issues 8.2 and 14): each message says what to check, and none
// contains a secret, a token or a raw response body.
import { exportJWK, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { createClient } from '../src/client.js'
import type { CodegrantError } from '../src/errors.js'
import type { ClientOptions } from '../src/options.js'
import { refreshTokens } from '../src/refresh.js'
import { fetchUserInfo } from '../src/userinfo.js'
import { createRecordingClient, failure } from './helpers/clients.js'
import { ISSUER, json } from './helpers/fake-as.js'

const SECRET = 'the-client-secret-9f8e7d'
const REFRESH = 'the-refresh-token-1a2b3c'

function assertClean(err: CodegrantError): void {
  expect(err.message).not.toContain(SECRET)
  expect(err.message).not.toContain(REFRESH)
  expect(err.message).not.toContain('raw body')
}

async function refreshAgainst(answer: () => Response, client: Partial<ClientOptions> = {}) {
  const { client: c } = await createRecordingClient(answer, {
    client: { clientSecret: SECRET, ...client },
  })
  return failure(refreshTokens(c, REFRESH))
}

describe('the AS refuses the client authentication (ERR_CLIENT_AUTH_REFUSED)', () => {
  it('401 invalid_client with client_secret_basic: check the id, secret and method', async () => {
    const err = await refreshAgainst(() =>
      json({ error: 'invalid_client', error_description: `raw body ${SECRET}` }, 401),
    )
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.status).toBe(401)
    expect(err.message).toBe(
      'refresh: the authorization server refused the client authentication (invalid_client, HTTP 401): check "clientId" and "clientSecret", and that "clientAuthMethod" (client_secret_basic) is the method registered for this client',
    )
    assertClean(err)
  })

  it('403 with an empty body (Glewlwyd, refused assertion) with private_key_jwt: names assertionAudience', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const err = await refreshAgainst(() => new Response(null, { status: 403 }), {
      clientSecret: undefined,
      clientAuthMethod: 'private_key_jwt',
      privateKey: await exportJWK(privateKey),
      privateKeyId: 'k1',
    })
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.status).toBe(403)
    expect(err.message).toContain('refused the client authentication (HTTP 403)')
    expect(err.message).toContain('"privateKey"')
    expect(err.message).toContain("assertionAudience: 'token_endpoint'")
    expect(err.message).not.toContain('unexpected')
  })

  it('401 with an empty body with client_secret_jwt: names the secret and assertionAudience', async () => {
    const err = await refreshAgainst(() => new Response('', { status: 401 }), {
      clientAuthMethod: 'client_secret_jwt',
      clientSecret: `${SECRET}-long-enough-for-hs256-signing`,
    })
    expect(err.code).toBe('ERR_CLIENT_AUTH_REFUSED')
    expect(err.message).toContain('"clientSecret"')
    expect(err.message).toContain('"assertionAudience"')
    assertClean(err)
  })

  it('a 403 with an empty body at the userinfo endpoint is the access token, not the client', async () => {
    const { client } = await createRecordingClient(() => new Response(null, { status: 403 }), {
      metadata: { userinfo_endpoint: `${ISSUER}/me` },
    })
    const err = await failure(fetchUserInfo(client, REFRESH, 'user-1'))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.status).toBe(403)
    expect(err.message).toContain('the userinfo endpoint refused the access token (HTTP 403)')
    expect(err.message).toContain('log in again')
    assertClean(err)
  })

  it('a 401 invalid_token challenge at userinfo says the token was refused (not "unavailable")', async () => {
    const { client } = await createRecordingClient(
      () => json({}, 401, { 'www-authenticate': 'Bearer error="invalid_token"' }),
      { metadata: { userinfo_endpoint: `${ISSUER}/me` } },
    )
    const err = await failure(fetchUserInfo(client, REFRESH, 'user-1'))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('invalid_token')
    expect(err.message).toContain('refused the access token (invalid_token, HTTP 401)')
    assertClean(err)
  })
})

describe('discovery failures name the URL tried and the status', () => {
  const discover = (answer: (url: string) => Response | Promise<Response>, issuer = ISSUER) =>
    failure(
      createClient({
        issuer,
        clientId: 'client-1',
        clientSecret: SECRET,
        redirectUri: 'https://app.example.com/callback',
        timeout: 200,
        fetch: (input) => Promise.resolve(answer(String(input))),
      }),
    )

  it('404: the well-known URL, the status and "issuer"', async () => {
    const err = await discover(() => new Response('raw body', { status: 404 }), `${ISSUER}/tenant`)
    expect(err.code).toBe('ERR_DISCOVERY_FAILED')
    expect(err.status).toBe(404)
    expect(err.message).toContain(
      `GET ${ISSUER}/tenant/.well-known/openid-configuration answered HTTP 404`,
    )
    expect(err.message).toContain('check "issuer"')
    assertClean(err)
  })

  it('a non-JSON 200 says so', async () => {
    const err = await discover(
      () => new Response('<html>raw body</html>', { headers: { 'content-type': 'text/html' } }),
    )
    expect(err.message).toContain(
      `GET ${ISSUER}/.well-known/openid-configuration answered HTTP 200`,
    )
    assertClean(err)
  })

  it('a timeout names the URL and "timeout"', async () => {
    const err = await discover(() => new Promise<Response>(() => {}))
    expect(err.message).toContain(
      `GET ${ISSUER}/.well-known/openid-configuration did not answer within 200 ms ("timeout")`,
    )
  })

  it('never shows credentials embedded in the issuer URL', async () => {
    const err = await discover(
      () => new Response(null, { status: 500 }),
      'https://user:pw-in-url@as.example.com',
    )
    expect(err.message).toContain('GET https://as.example.com/.well-known/openid-configuration')
    expect(err.message).not.toContain('pw-in-url')
  })

  it('an issuer mismatch names the expected and the found issuer', async () => {
    const err = await discover(() =>
      json({
        issuer: 'https://other.example.com/',
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
      }),
    )
    expect(err.code).toBe('ERR_METADATA_INVALID')
    expect(err.message).toContain(
      `expected "${ISSUER}/", found "https://other.example.com/" (set "issuer" to the value the AS states, exactly)`,
    )
  })

  it('explicit metadata with another issuer names both', async () => {
    const err = await failure(
      createClient({
        issuer: ISSUER,
        clientId: 'client-1',
        redirectUri: 'https://app.example.com/callback',
        metadata: { issuer: 'https://other.example.com', token_endpoint: 'x' },
      }),
    )
    expect(err.code).toBe('ERR_METADATA_INVALID')
    expect(err.message).toContain(`expected "${ISSUER}", found "https://other.example.com"`)
  })
})
