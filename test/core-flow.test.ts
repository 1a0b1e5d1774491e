/**
 * @codegrant/core login flow against the real local AS (oidc-provider): every client
 * authentication method, PAR, form_post, and the exact redirect_uri behind a proxy.
 */
import {
  createAuthorizationRequest,
  createClient,
  handleCallback,
  type Client,
  type ClientOptions,
} from '@codegrant/core'
import {
  completeLogin,
  localClientPrivateJwk,
  localClientPrivatePem,
  localClients,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let as: LocalAs
const redirectUri = 'http://127.0.0.1/callback'

beforeAll(async () => {
  as = await startLocalAs()
})

afterAll(async () => {
  await as?.close()
})

async function client(options: Omit<ClientOptions, 'issuer' | 'redirectUri'>): Promise<Client> {
  return createClient({ issuer: as.issuer, redirectUri, ...options })
}

async function login(c: Client, params: Parameters<typeof createAuthorizationRequest>[1] = {}) {
  const { url, transaction } = await createAuthorizationRequest(c, params)
  const response = await completeLogin(url)
  const input = response.method === 'POST' ? { body: response.body } : response.url
  return { url, transaction, ...(await handleCallback(c, input, transaction)) }
}

interface Seen {
  url: string
  headers: Headers
  body: URLSearchParams
}

/** A fetch that records token endpoint requests and forwards everything to the real AS. */
function recordingFetch(seen: Seen[]): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (url.endsWith('/token')) {
      seen.push({
        url,
        headers: new Headers(init?.headers),
        body: new URLSearchParams(String(init?.body ?? '')),
      })
    }
    return fetch(input, init)
  }
}

function assertionOf(req: Seen | undefined): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const jwt = req?.body.get('client_assertion') ?? ''
  const [h = '', p = ''] = jwt.split('.')
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
  }
}

describe('core login flow against the local AS', () => {
  const methods: [
    string,
    Omit<ClientOptions, 'issuer' | 'redirectUri'>,
    (req: Seen | undefined) => void,
  ][] = [
    [
      'client_secret_basic (default with a secret)',
      {
        clientId: localClients.webBasic.clientId,
        clientSecret: localClients.webBasic.clientSecret,
      },
      (req) => {
        expect(req?.headers.get('authorization')).toMatch(/^Basic /)
        expect(req?.body.has('client_secret')).toBe(false)
      },
    ],
    [
      'client_secret_post',
      {
        clientId: localClients.webPost.clientId,
        clientSecret: localClients.webPost.clientSecret,
        clientAuthMethod: 'client_secret_post',
      },
      (req) => {
        expect(req?.headers.has('authorization')).toBe(false)
        expect(req?.body.get('client_secret')).toBe(localClients.webPost.clientSecret)
      },
    ],
    [
      'client_secret_jwt',
      {
        clientId: localClients.webJwt.clientId,
        clientSecret: localClients.webJwt.clientSecret,
        clientAuthMethod: 'client_secret_jwt',
      },
      (req) => {
        const { header, payload } = assertionOf(req)
        expect(header.alg).toBe('HS256')
        expect(payload.aud).toBe(as.issuer)
        expect(req?.body.has('client_secret')).toBe(false)
      },
    ],
    [
      'private_key_jwt with a JWK',
      { clientId: localClients.webPkjwt.clientId, privateKey: { ...localClientPrivateJwk } },
      (req) => {
        const { header, payload } = assertionOf(req)
        expect(header).toMatchObject({ alg: 'RS256', kid: localClientPrivateJwk.kid })
        expect(payload).toMatchObject({ aud: as.issuer, iss: localClients.webPkjwt.clientId })
      },
    ],
    [
      'private_key_jwt with a PEM and the token endpoint as assertion audience',
      {
        clientId: localClients.webPkjwt.clientId,
        clientAuthMethod: 'private_key_jwt',
        privateKey: localClientPrivatePem,
        privateKeyId: localClientPrivateJwk.kid,
        assertionAudience: 'token_endpoint',
      },
      (req) => {
        const { header, payload } = assertionOf(req)
        expect(header).toMatchObject({ alg: 'RS256', kid: localClientPrivateJwk.kid })
        expect(payload.aud).toBe(req?.url)
      },
    ],
    [
      'none (public client, PKCE)',
      { clientId: localClients.publicClient.clientId },
      (req) => {
        expect(req?.headers.has('authorization')).toBe(false)
        expect(req?.body.get('client_id')).toBe(localClients.publicClient.clientId)
        expect(req?.body.has('client_assertion')).toBe(false)
        expect(req?.body.get('code_verifier')).toBeTypeOf('string')
      },
    ],
  ]

  it.each(methods)('logs in with %s', async (_name, options, checkWire) => {
    const seen: Seen[] = []
    const c = await client({ ...options, fetch: recordingFetch(seen) })
    const { tokens, claims, transaction } = await login(c, { scope: 'openid profile' })
    expect(tokens.token_type).toBe('Bearer')
    expect(tokens.access_token).toBeTypeOf('string')
    expect(tokens.id_token).toBeTypeOf('string')
    expect(tokens.expires_at).toBeGreaterThan(Date.now() / 1000)
    expect(claims?.sub).toBe('demo-user-1')
    expect(claims?.nonce).toBe(transaction.nonce)
    expect(claims?.iss).toBe(as.issuer)
    expect(seen).toHaveLength(1)
    expect(seen[0]?.body.get('redirect_uri')).toBe(redirectUri)
    checkWire(seen[0])
  })

  it('refuses a wrong client secret (the AS says invalid_client)', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: 'not-the-secret',
    })
    const { url, transaction } = await createAuthorizationRequest(c)
    const response = await completeLogin(url)
    const err = await handleCallback(c, response.url, transaction).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_CLIENT_AUTH_REFUSED', error: 'invalid_client' })
    expect((err as Error).message).not.toContain('not-the-secret')
  })

  it('uses PAR automatically when the AS metadata requires it (web-par)', async () => {
    // oidc-provider requires PAR of web-par through its client metadata, which a client cannot
    // discover; an AS that requires PAR of everyone says so in its metadata, simulated here.
    const discovered = await createClient({
      issuer: as.issuer,
      redirectUri,
      clientId: localClients.webPar.clientId,
    })
    const c = await client({
      clientId: localClients.webPar.clientId,
      clientSecret: localClients.webPar.clientSecret,
      metadata: { ...discovered.metadata, require_pushed_authorization_requests: true },
    })
    const { url, claims } = await login(c)
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/)
    expect(url.searchParams.has('code_challenge')).toBe(false)
    expect(claims?.sub).toBe('demo-user-1')
  })

  it('uses PAR for web-par when configured with usePar, and the AS refuses it without', async () => {
    const c = await client({
      clientId: localClients.webPar.clientId,
      clientSecret: localClients.webPar.clientSecret,
      usePar: true,
    })
    const { url, claims } = await login(c)
    expect(url.searchParams.has('request_uri')).toBe(true)
    expect(claims?.sub).toBe('demo-user-1')

    const plain = await client({
      clientId: localClients.webPar.clientId,
      clientSecret: localClients.webPar.clientSecret,
    })
    const { url: plainUrl, transaction } = await createAuthorizationRequest(plain)
    const refused = await completeLogin(plainUrl)
      .then((response) => handleCallback(plain, response.url, transaction))
      .catch((err: unknown) => err)
    expect(refused).toMatchObject({ code: 'ERR_AUTHORIZATION_ERROR', error: 'invalid_request' })
  })

  it('uses PAR on request for any client', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: localClients.webBasic.clientSecret,
    })
    const { url, claims } = await login(c, { usePar: true })
    expect(url.searchParams.has('request_uri')).toBe(true)
    expect(claims?.sub).toBe('demo-user-1')
  })

  it('completes a form_post response', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: localClients.webBasic.clientSecret,
    })
    const { url, transaction } = await createAuthorizationRequest(c, { responseMode: 'form_post' })
    expect(url.searchParams.get('response_mode')).toBe('form_post')
    const response = await completeLogin(url)
    expect(response.method).toBe('POST')
    if (response.method !== 'POST') return
    const { claims } = await handleCallback(c, { body: response.body }, transaction)
    expect(claims?.sub).toBe('demo-user-1')
  })

  it('sends the registered redirect_uri when the callback arrives through a proxy on another port', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: localClients.webBasic.clientSecret,
    })
    const { url, transaction } = await createAuthorizationRequest(c)
    const response = await completeLogin(url)
    const proxied = new URL(response.url)
    proxied.port = '8443'
    // oidc-provider compares the token request's redirect_uri with the authorization
    // request's: a rebuilt http://127.0.0.1:8443/callback would be invalid_grant.
    const { claims } = await handleCallback(c, proxied, transaction)
    expect(claims?.sub).toBe('demo-user-1')
  })

  it('discovers metadata that advertises RFC 9207 iss and checks it', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: localClients.webBasic.clientSecret,
    })
    const { url, transaction } = await createAuthorizationRequest(c)
    const response = await completeLogin(url)
    if (c.metadata.authorization_response_iss_parameter_supported === true) {
      expect(response.url.searchParams.get('iss')).toBe(as.issuer)
    }
    const forged = new URL(response.url)
    forged.searchParams.set('iss', 'http://127.0.0.1:1')
    await expect(handleCallback(c, forged, transaction)).rejects.toMatchObject({
      code: 'ERR_ISS_MISMATCH',
    })
  })

  it('refuses a replayed code (invalid_grant)', async () => {
    const c = await client({
      clientId: localClients.webBasic.clientId,
      clientSecret: localClients.webBasic.clientSecret,
    })
    const { url, transaction } = await createAuthorizationRequest(c)
    const response = await completeLogin(url)
    await handleCallback(c, response.url, transaction)
    await expect(handleCallback(c, response.url, transaction)).rejects.toMatchObject({
      code: 'ERR_INVALID_GRANT',
    })
  })
})
