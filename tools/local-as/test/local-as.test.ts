import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  completeLogin,
  CompleteLoginError,
  CookieJar,
  localClients,
  localClientScope,
  startLocalAs,
  type LocalAs,
} from '../src/index.js'
import { authorizeUrl, basicAuth, pkce, tokenRequest } from './helpers.js'

let as: LocalAs
const warnings: string[] = []

beforeAll(async () => {
  as = await startLocalAs({
    logger: { warn: (m) => warnings.push(m), info: (m) => warnings.push(m) },
  })
})
afterAll(async () => {
  await as.close()
})
beforeEach(() => {
  as.resetCounts()
})

async function loginForCode(params: Record<string, string> = {}, jar?: CookieJar) {
  const { verifier, challenge } = pkce()
  const url = authorizeUrl(as, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  })
  const result = await completeLogin(url, jar ? { cookieJar: jar } : {})
  expect(result.method).toBe('GET')
  const callback = result.url
  expect(callback.searchParams.get('state')).toBe(url.searchParams.get('state'))
  const code = callback.searchParams.get('code')
  expect(code).toBeTruthy()
  return {
    code: code as string,
    verifier,
    redirectUri: url.searchParams.get('redirect_uri') as string,
    callback,
  }
}

/** Exchanges the code of a {@link loginForCode} result (with its PKCE verifier) for tokens. */
function exchangeCode(
  login: { code: string; verifier: string; redirectUri: string },
  client?: Parameters<typeof tokenRequest>[2],
) {
  return tokenRequest(
    as,
    {
      grant_type: 'authorization_code',
      code: login.code,
      redirect_uri: login.redirectUri,
      code_verifier: login.verifier,
    },
    client,
  )
}

describe('startLocalAs', () => {
  it('listens on a random loopback port with a matching issuer, and keeps warnings out of the console', () => {
    expect(as.url.hostname).toBe('127.0.0.1')
    expect(Number(as.url.port)).toBeGreaterThan(0)
    expect(as.issuer).toBe(`http://127.0.0.1:${as.url.port}`)
    expect(as.signingKeys.keys.map((k) => k.alg)).toEqual(['RS256', 'ES256'])
    expect(as.signingKeys.keys.every((k) => k.d === undefined)).toBe(true)
  })

  it('publishes a discovery document with the endpoints the SDK needs', async () => {
    const response = await fetch(new URL('/.well-known/openid-configuration', as.issuer))
    expect(response.status).toBe(200)
    const metadata = (await response.json()) as Record<string, unknown>
    expect(metadata.issuer).toBe(as.issuer)
    for (const endpoint of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'end_session_endpoint',
      'pushed_authorization_request_endpoint',
      'revocation_endpoint',
      'introspection_endpoint',
    ]) {
      expect(metadata[endpoint], endpoint).toMatch(new RegExp(`^${as.issuer}/`))
    }
    expect(metadata.backchannel_logout_supported).toBe(true)
    expect(metadata.dpop_signing_alg_values_supported).toContain('ES256')
    expect(metadata.code_challenge_methods_supported).toEqual(['S256'])
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true)
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining([
        'client_secret_basic',
        'client_secret_post',
        'client_secret_jwt',
        'private_key_jwt',
        'none',
      ]),
    )
  })

  it('logs in with completeLogin and exchanges the code with PKCE for tokens', async () => {
    const { callback, ...login } = await loginForCode()
    expect(callback.searchParams.get('iss')).toBe(as.issuer)
    const { status, json } = await exchangeCode(login)
    expect(status).toBe(200)
    expect(json.token_type).toBe('Bearer')
    expect(typeof json.access_token).toBe('string')
    expect(typeof json.id_token).toBe('string')
    expect(json.refresh_token).toBeUndefined()
    const jwks = createRemoteJWKSet(new URL('/jwks', as.issuer))
    const { payload } = await jwtVerify(json.id_token as string, jwks, {
      issuer: as.issuer,
      audience: localClients.webBasic.clientId,
    })
    expect(payload.sub).toBe('demo-user-1')
    expect(payload.name).toBe('Demo User')
    expect(payload.email).toBe('demo@example.com')
    expect(as.grantCount('authorization_code')).toBe(1)
    expect(
      as.events.some((e) => e.name === 'grant.success' && e.grantType === 'authorization_code'),
    ).toBe(true)
  })

  it('issues a JWT access token (typ at+jwt) for urn:codegrant:api that verifies against the JWKS', async () => {
    const { status, json } = await exchangeCode(
      await loginForCode({
        scope: 'openid profile read:messages',
        resource: 'urn:codegrant:api',
      }),
    )
    expect(status).toBe(200)
    const token = json.access_token as string
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt')
    const jwks = createRemoteJWKSet(new URL('/jwks', as.issuer))
    const { payload } = await jwtVerify(token, jwks, {
      issuer: as.issuer,
      audience: 'urn:codegrant:api',
      typ: 'at+jwt',
    })
    expect(payload.sub).toBe('demo-user-1')
    expect(payload.scope).toBe('read:messages')
    expect(payload.client_id).toBe('web-basic')
  })

  it('issues a refresh token for offline_access without prompt=consent, rotates it and counts refreshes', async () => {
    const first = await exchangeCode(
      await loginForCode({
        scope: 'openid offline_access read:messages',
        resource: 'urn:codegrant:api',
      }),
    )
    expect(first.status).toBe(200)
    const rt1 = first.json.refresh_token as string
    expect(typeof rt1).toBe('string')

    const second = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: rt1 })
    expect(second.status).toBe(200)
    const rt2 = second.json.refresh_token as string
    expect(typeof rt2).toBe('string')
    expect(rt2).not.toBe(rt1)
    // The audience is kept on refresh without a resource parameter.
    const jwks = createRemoteJWKSet(new URL('/jwks', as.issuer))
    await jwtVerify(second.json.access_token as string, jwks, { audience: 'urn:codegrant:api' })
    expect(as.grantCount('refresh_token')).toBe(1)

    // Reusing the rotated token fails and revokes the grant.
    const reuse = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: rt1 })
    expect(reuse.status).toBe(400)
    expect(reuse.json.error).toBe('invalid_grant')
    expect(as.grantCount('refresh_token')).toBe(1)
    expect(as.events.some((e) => e.name === 'grant.error' && e.error === 'invalid_grant')).toBe(
      true,
    )
  })

  it('lets a registered loopback redirect URI match any port', async () => {
    const { callback } = await loginForCode({ redirect_uri: 'http://localhost:61234/callback' })
    expect(callback.origin).toBe('http://localhost:61234')
    expect(callback.pathname).toBe('/callback')
  })

  it('refuses a redirect URI that differs in more than a loopback port', async () => {
    for (const redirectUri of [
      'http://example.com:8080/callback',
      'http://127.0.0.1:8080/other',
      'https://127.0.0.1:8080/callback',
    ]) {
      const url = authorizeUrl(as, {
        redirect_uri: redirectUri,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })
      const error = await completeLogin(url).catch((err: unknown) => err)
      expect(error, redirectUri).toBeInstanceOf(CompleteLoginError)
      expect((error as CompleteLoginError).message).toContain('invalid_redirect_uri')
    }
  })

  it('shows an error on a wrong password', async () => {
    const url = authorizeUrl(as, {
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })
    const error = await completeLogin(url, { password: 'wrong' }).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(CompleteLoginError)
    expect((error as CompleteLoginError).code).toBe('ERR_LOGIN_FAILED')
    expect((error as CompleteLoginError).status).toBe(401)
  })

  it('ends with access_denied when the user denies consent', async () => {
    const url = authorizeUrl(as, {
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })
    const result = await completeLogin(url, { consent: 'deny' })
    expect(result.method).toBe('GET')
    expect(result.url.searchParams.get('error')).toBe('access_denied')
    expect(result.url.searchParams.get('state')).toBe(url.searchParams.get('state'))
  })

  it('gives single sign-on with a shared cookie jar (prompt=none works)', async () => {
    const jar = new CookieJar()
    await loginForCode({}, jar)
    const silent = await loginForCode({ prompt: 'none' }, jar)
    expect(silent.callback.searchParams.get('code')).toBeTruthy()
    // Without the jar prompt=none fails with login_required.
    const url = authorizeUrl(as, {
      prompt: 'none',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })
    const result = await completeLogin(url)
    expect(result.url.searchParams.get('error')).toBe('login_required')
  })

  it('returns the form_post response as a POST', async () => {
    const url = authorizeUrl(as, {
      response_mode: 'form_post',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })
    const result = await completeLogin(url)
    expect(result.method).toBe('POST')
    if (result.method !== 'POST') return
    expect(result.url.href).toBe('http://127.0.0.1:45678/callback')
    expect(result.body.get('code')).toBeTruthy()
    expect(result.body.get('state')).toBe(url.searchParams.get('state'))
  })

  it('introspects opaque access tokens for the API introspection client', async () => {
    const { json } = await exchangeCode(
      await loginForCode({
        scope: 'openid read:messages',
        resource: 'urn:codegrant:opaque-api',
      }),
    )
    const response = await fetch(new URL('/token/introspection', as.issuer), {
      method: 'POST',
      headers: {
        authorization: basicAuth(
          localClients.apiIntrospector.clientId,
          localClients.apiIntrospector.clientSecret,
        ),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: json.access_token as string }).toString(),
    })
    const body = (await response.json()) as Record<string, unknown>
    expect({ status: response.status, body }).toMatchObject({ status: 200 })
    expect(body.active).toBe(true)
    expect(body.sub).toBe('demo-user-1')
    expect(body.aud).toBe('urn:codegrant:opaque-api')
    expect(body.scope).toBe('read:messages')
    expect(body.client_id).toBe('web-basic')
  })

  it('introspects its own JWT access tokens too (oidc-provider alone refuses them)', async () => {
    const { json } = await exchangeCode(
      await loginForCode({
        scope: 'openid read:messages',
        resource: 'urn:codegrant:api',
      }),
    )
    const introspect = async (token: string, id: string, secret: string) => {
      const response = await fetch(new URL('/token/introspection', as.issuer), {
        method: 'POST',
        headers: {
          authorization: basicAuth(id, secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }).toString(),
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    const { apiIntrospector, webPost } = localClients
    const ok = await introspect(
      json.access_token as string,
      apiIntrospector.clientId,
      apiIntrospector.clientSecret,
    )
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({
      active: true,
      sub: 'demo-user-1',
      aud: 'urn:codegrant:api',
      scope: 'read:messages',
      client_id: 'web-basic',
      token_type: 'Bearer',
    })
    // Another client may not introspect web-basic's token.
    const other = await introspect(
      json.access_token as string,
      webPost.clientId,
      webPost.clientSecret,
    )
    expect(other.body).toEqual({ active: false })
    // A tampered token is inactive.
    const tampered = `${json.access_token as string}x`
    expect(
      (await introspect(tampered, apiIntrospector.clientId, apiIntrospector.clientSecret)).body,
    ).toEqual({ active: false })
    // A wrong secret is still refused by oidc-provider.
    expect(
      (await introspect(json.access_token as string, apiIntrospector.clientId, 'wrong')).status,
    ).toBe(401)
  })

  it('registers a client at runtime', async () => {
    await as.addClient({
      client_id: 'runtime-client',
      client_secret: 'runtime-secret-for-local-tests-only',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      backchannel_logout_uri: 'http://127.0.0.1:9/backchannel',
      scope: localClientScope,
    })
    const { status } = await exchangeCode(await loginForCode({ client_id: 'runtime-client' }), {
      clientId: 'runtime-client',
      clientSecret: 'runtime-secret-for-local-tests-only',
    })
    expect(status).toBe(200)
  })
})

describe('startLocalAs options', () => {
  it('rejects invalid options with a TypeError naming the option', async () => {
    await expect(startLocalAs({ port: -1 })).rejects.toThrow('"port"')
    await expect(startLocalAs({ ttl: { AccessToken: 0 } })).rejects.toThrow('"ttl.AccessToken"')
    await expect(
      startLocalAs({
        clients: [{ client_id: 'bad', client_secret: 'x', redirect_uris: ['not a url'] }],
      }),
    ).rejects.toThrow('"clients[0]"')
  })

  it('closes cleanly and frees its port', async () => {
    const other = await startLocalAs()
    const { port } = other.url
    await other.close()
    await other.close()
    await expect(fetch(`http://127.0.0.1:${port}/jwks`)).rejects.toThrow()
  })
})
