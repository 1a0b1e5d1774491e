import { describe, expect, it } from 'vitest'
import * as openid from 'openid-client'
import { createAuthorizationRequest } from '../src/authorize.js'
import { setupFakeAs } from './helpers/clients.js'
import { ISSUER } from './helpers/fake-as.js'

describe('createAuthorizationRequest', () => {
  it('builds a request with state, nonce, PKCE S256 and a plain-JSON transaction', async () => {
    const { client } = await setupFakeAs()
    const before = Math.floor(Date.now() / 1000)
    const { url, transaction } = await createAuthorizationRequest(client)
    const q = url.searchParams
    expect(url.origin + url.pathname).toBe(`${ISSUER}/authorize`)
    expect(q.get('response_type')).toBe('code')
    expect(q.get('client_id')).toBe('client-1')
    expect(q.get('redirect_uri')).toBe('https://app.example.com/callback')
    expect(q.get('scope')).toBe('openid')
    expect(q.get('state')).toBe(transaction.state)
    expect(transaction.state.length).toBeGreaterThanOrEqual(43)
    expect(q.get('nonce')).toBe(transaction.nonce)
    expect(q.get('code_challenge_method')).toBe('S256')
    expect(q.get('code_challenge')).toBe(
      await openid.calculatePKCECodeChallenge(transaction.code_verifier),
    )
    expect(q.has('response_mode')).toBe(false)
    expect(transaction.created_at).toBeGreaterThanOrEqual(before)
    expect(transaction.expires_at).toBe(transaction.created_at + 600)
    expect(JSON.parse(JSON.stringify(transaction))).toEqual(transaction)
  })

  it('omits the nonce without openid and sends optional parameters', async () => {
    const { client } = await setupFakeAs()
    const { url, transaction } = await createAuthorizationRequest(client, {
      scope: 'api:read',
      resource: ['https://api.example.com', 'https://other.example.com'],
      audience: 'https://api.example.com',
      prompt: 'consent',
      loginHint: 'alice',
      acrValues: 'urn:mfa',
      maxAge: 60,
      responseMode: 'form_post',
      authorizationParams: { ui_locales: 'fr' },
    })
    const q = url.searchParams
    expect(q.has('nonce')).toBe(false)
    expect(transaction.nonce).toBeUndefined()
    expect(q.getAll('resource')).toEqual(['https://api.example.com', 'https://other.example.com'])
    expect(q.get('audience')).toBe('https://api.example.com')
    expect(q.get('prompt')).toBe('consent')
    expect(q.get('login_hint')).toBe('alice')
    expect(q.get('acr_values')).toBe('urn:mfa')
    expect(q.get('max_age')).toBe('60')
    expect(q.get('response_mode')).toBe('form_post')
    expect(q.get('ui_locales')).toBe('fr')
    expect(transaction).toMatchObject({
      response_mode: 'form_post',
      max_age: 60,
      scope: 'api:read',
    })
    expect(transaction.resource).toEqual(['https://api.example.com', 'https://other.example.com'])
  })

  it.each([
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'redirect_uri',
    'response_type',
    'client_id',
    'STATE',
  ])('refuses authorizationParams overriding %s', async (name) => {
    const { client } = await setupFakeAs()
    await expect(
      createAuthorizationRequest(client, { authorizationParams: { [name]: 'x' } }),
    ).rejects.toThrow(TypeError)
  })

  it('uses PAR automatically when the metadata requires it', async () => {
    const { as, client } = await setupFakeAs({ require_pushed_authorization_requests: true })
    const { url } = await createAuthorizationRequest(client)
    expect(url.searchParams.get('request_uri')).toBe('urn:ietf:params:oauth:request_uri:abc')
    expect(url.searchParams.has('state')).toBe(false)
    const par = as.requests.find((r) => r.url.endsWith('/par'))
    expect(par).toBeDefined()
    const body = new URLSearchParams(par?.body)
    expect(body.get('code_challenge_method')).toBe('S256')
    expect(par?.headers.get('authorization')).toMatch(/^Basic /)
  })

  it('uses PAR on request, and refuses it without a PAR endpoint (ERR_UNSUPPORTED)', async () => {
    const { client } = await setupFakeAs()
    const { url } = await createAuthorizationRequest(client, { usePar: true })
    expect(url.searchParams.has('request_uri')).toBe(true)
    const { client: noPar } = await setupFakeAs({
      pushed_authorization_request_endpoint: undefined,
    })
    await expect(createAuthorizationRequest(noPar, { usePar: true })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED',
    })
  })

  it('refuses form_post when the metadata lists response modes without it (ERR_UNSUPPORTED)', async () => {
    const { client } = await setupFakeAs({ response_modes_supported: ['query', 'fragment'] })
    await expect(
      createAuthorizationRequest(client, { responseMode: 'form_post' }),
    ).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED',
    })
    await expect(createAuthorizationRequest(client)).resolves.toBeDefined()
  })

  it('applies transactionTtl', async () => {
    const { client } = await setupFakeAs({}, { transactionTtl: 60 })
    const { transaction } = await createAuthorizationRequest(client)
    expect(transaction.expires_at - transaction.created_at).toBe(60)
  })
})
