/**
 * Client authentication against the local AS (oidc-provider):
 * - regression (issue 8.3): `client_secret_basic` with a client id and secret containing the
 *   unreserved characters `- . _ ~`, sent as they are (the local AS decodes, so it also proves
 *   that a decoding server reads the same value);
 * - issues 8.2 / 14: a refused client authentication is `ERR_CLIENT_AUTH_REFUSED`, with a
 *   message that names what to check and never the secret.
 */
import {
  createAuthorizationRequest,
  createClient,
  handleCallback,
  isCodegrantError,
  refreshTokens,
  type Client,
  type ClientOptions,
  type TokenSet,
} from '@codegrant/core'
import {
  completeLogin,
  localClients,
  localRedirectUris,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const UNRESERVED_ID = 'codegrant-web_app.v1~test'
const UNRESERVED_SECRET = 'se-cr.et_~with-every-unreserved-0123'

let as: LocalAs
const seenAuthorization: string[] = []

beforeAll(async () => {
  as = await startLocalAs({
    clients: [
      {
        client_id: UNRESERVED_ID,
        client_secret: UNRESERVED_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [...localRedirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'openid profile offline_access',
      },
    ],
  })
})

afterAll(async () => {
  await as?.close()
})

function clientOf(options: Partial<ClientOptions>): Promise<Client> {
  return createClient({
    issuer: as.issuer,
    clientId: localClients.webBasic.clientId,
    redirectUri: 'http://127.0.0.1/callback',
    scope: 'openid profile offline_access',
    fetch: (input, init) => {
      const value = new Headers(init?.headers).get('authorization')
      if (value !== null) seenAuthorization.push(value)
      return fetch(input, init)
    },
    ...options,
  })
}

async function login(client: Client): Promise<TokenSet> {
  const { url, transaction } = await createAuthorizationRequest(client, { prompt: 'consent' })
  const response = await completeLogin(url)
  return (await handleCallback(client, response.url, transaction)).tokens
}

describe('client_secret_basic with unreserved characters (regression, issue 8.3)', () => {
  it('sends them as they are, and the AS accepts the login and a refresh', async () => {
    seenAuthorization.length = 0
    const client = await clientOf({ clientId: UNRESERVED_ID, clientSecret: UNRESERVED_SECRET })
    const tokens = await login(client)
    expect(tokens.refresh_token).toBeTypeOf('string')
    await refreshTokens(client, tokens)
    expect(seenAuthorization.length).toBeGreaterThanOrEqual(2)
    const expected = `Basic ${Buffer.from(`${UNRESERVED_ID}:${UNRESERVED_SECRET}`).toString('base64')}`
    for (const value of seenAuthorization) expect(value).toBe(expected)
  })
})

describe('a refused client authentication (issues 8.2, 14)', () => {
  it('a wrong client secret is ERR_CLIENT_AUTH_REFUSED naming the secret option, not its value', async () => {
    const wrong = 'wrong-secret-value-that-must-not-leak'
    const client = await clientOf({ clientSecret: wrong })
    const { url, transaction } = await createAuthorizationRequest(client)
    const response = await completeLogin(url)
    const err = await handleCallback(client, response.url, transaction).catch((e: unknown) => e)
    expect(isCodegrantError(err, 'ERR_CLIENT_AUTH_REFUSED')).toBe(true)
    const { message, status, error } = err as Error & { status?: number; error?: string }
    expect(error).toBe('invalid_client')
    expect(status).toBe(401)
    expect(message).toContain('refused the client authentication')
    expect(message).toContain('"clientSecret"')
    expect(message).toContain('client_secret_basic')
    expect(message).not.toContain(wrong)
    expect(message).not.toContain('answered unexpectedly')
  })

  it('private_key_jwt with an unregistered key names the key and assertionAudience', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true })
    const client = await clientOf({
      clientId: localClients.webPkjwt.clientId,
      privateKey: await exportJWK(privateKey),
      privateKeyId: 'not-registered',
    })
    const err = await refreshTokens(client, 'some-refresh-token').catch((e: unknown) => e)
    expect(isCodegrantError(err, 'ERR_CLIENT_AUTH_REFUSED')).toBe(true)
    const { message } = err as Error
    expect(message).toContain('"privateKey"')
    expect(message).toContain("assertionAudience: 'token_endpoint'")
    expect(message).not.toContain('some-refresh-token')
  })
})
