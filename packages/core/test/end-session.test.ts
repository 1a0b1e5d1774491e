import { describe, expect, it } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import { buildEndSessionUrl } from '../src/end-session.js'

const ISSUER = 'https://as.example.com'

function makeClient(
  metadata: Record<string, unknown> = { end_session_endpoint: `${ISSUER}/session/end` },
  postLogoutRedirectUri: string | null = 'https://app.example.com/',
): Promise<Client> {
  return createClient({
    issuer: ISSUER,
    clientId: 'web-1',
    clientSecret: 's3cret',
    redirectUri: 'https://app.example.com/callback',
    ...(postLogoutRedirectUri !== null && { postLogoutRedirectUri }),
    metadata: {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      ...metadata,
    },
    fetch: () => Promise.reject(new Error('no request expected')),
  })
}

describe('buildEndSessionUrl', () => {
  it('builds the RP-initiated logout URL with every parameter', async () => {
    const client = await makeClient()
    const url = buildEndSessionUrl(client, {
      idTokenHint: 'id.token.value',
      postLogoutRedirectUri: 'https://app.example.com/bye',
      state: 'st-1',
      logoutHint: 'alice@example.com',
    })
    expect(url).toBeInstanceOf(URL)
    expect(url?.origin + (url?.pathname ?? '')).toBe(`${ISSUER}/session/end`)
    expect(Object.fromEntries(url?.searchParams ?? [])).toEqual({
      client_id: 'web-1',
      id_token_hint: 'id.token.value',
      post_logout_redirect_uri: 'https://app.example.com/bye',
      state: 'st-1',
      logout_hint: 'alice@example.com',
    })
  })

  it('defaults post_logout_redirect_uri to the client option and always sends client_id', async () => {
    const client = await makeClient()
    const url = buildEndSessionUrl(client)
    expect(url?.searchParams.get('post_logout_redirect_uri')).toBe('https://app.example.com/')
    expect(url?.searchParams.get('client_id')).toBe('web-1')
    expect(url?.searchParams.has('id_token_hint')).toBe(false)
    expect(url?.searchParams.has('state')).toBe(false)
  })

  it('omits post_logout_redirect_uri when none is configured or given', async () => {
    const client = await makeClient(undefined, null)
    expect(buildEndSessionUrl(client)?.searchParams.has('post_logout_redirect_uri')).toBe(false)
  })

  it('keeps a query the end_session_endpoint already has', async () => {
    const client = await makeClient({ end_session_endpoint: `${ISSUER}/logout?tenant=a` })
    const url = buildEndSessionUrl(client, { state: 's' })
    expect(url?.searchParams.get('tenant')).toBe('a')
    expect(url?.searchParams.get('state')).toBe('s')
  })

  it('returns undefined when the AS has no end_session_endpoint', async () => {
    const client = await makeClient({})
    expect(buildEndSessionUrl(client, { idTokenHint: 'x' })).toBeUndefined()
  })

  it('refuses misuse with a TypeError naming the parameter', async () => {
    const client = await makeClient()
    expect(() => buildEndSessionUrl(client, { state: '' })).toThrow('"state"')
    expect(() => buildEndSessionUrl(client, { idTokenHint: 42 as never })).toThrow('"idTokenHint"')
  })
})
