import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
} from 'jose'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  completeLogin,
  completeLogout,
  CookieJar,
  localClientPrivateJwk,
  localClientPrivatePem,
  localClients,
  startLocalAs,
  type LocalAs,
} from '../src/index.js'
import { authorizeUrl, basicAuth, pkce } from './helpers.js'

let as: LocalAs

beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as.close()
})

async function post(
  path: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(new URL(path, as.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

async function codeFor(clientId: string, params: Record<string, string> = {}, jar?: CookieJar) {
  const { verifier, challenge } = pkce()
  const url = authorizeUrl(as, {
    client_id: clientId,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  })
  const result = await completeLogin(url, jar ? { cookieJar: jar } : {})
  const code = result.url.searchParams.get('code')
  expect(code, result.url.href).toBeTruthy()
  return {
    grant_type: 'authorization_code',
    code: code as string,
    redirect_uri: url.searchParams.get('redirect_uri') as string,
    code_verifier: verifier,
  }
}

describe('client authentication methods', () => {
  it('accepts client_secret_post', async () => {
    const body = await codeFor('web-post')
    const { status } = await post('/token', {
      ...body,
      client_id: 'web-post',
      client_secret: localClients.webPost.clientSecret,
    })
    expect(status).toBe(200)
  })

  it('accepts client_secret_jwt', async () => {
    const body = await codeFor('web-jwt')
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('web-jwt')
      .setSubject('web-jwt')
      .setAudience(as.issuer)
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(localClients.webJwt.clientSecret))
    const { status } = await post('/token', {
      ...body,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    })
    expect(status).toBe(200)
  })

  it('accepts private_key_jwt signed with the exported JWK or PEM', async () => {
    for (const key of [
      await importJWK({ ...localClientPrivateJwk }, 'RS256'),
      await importPKCS8(localClientPrivatePem, 'RS256'),
    ]) {
      const body = await codeFor('web-pkjwt')
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: localClientPrivateJwk.kid })
        .setIssuer('web-pkjwt')
        .setSubject('web-pkjwt')
        .setAudience(as.issuer)
        .setJti(randomBytes(8).toString('hex'))
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(key)
      const { status } = await post('/token', {
        ...body,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      })
      expect(status).toBe(200)
    }
  })

  it('lets the public client in with PKCE only, and requires PKCE for it', async () => {
    const body = await codeFor('public-client')
    const ok = await post('/token', { ...body, client_id: 'public-client' })
    expect(ok.status).toBe(200)

    const url = authorizeUrl(as, { client_id: 'public-client' })
    const result = await completeLogin(url)
    expect(result.url.searchParams.get('error')).toBe('invalid_request')
  })
})

describe('PAR', () => {
  it('requires PAR for web-par and issues a refresh token for offline_access', async () => {
    const direct = await completeLogin(
      authorizeUrl(as, {
        client_id: 'web-par',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    )
    expect(direct.url.searchParams.get('error')).toBe('invalid_request')

    const { verifier, challenge } = pkce()
    const redirectUri = 'http://127.0.0.1:40123/callback'
    const auth = basicAuth('web-par', localClients.webPar.clientSecret)
    const pushed = await post(
      '/request',
      {
        client_id: 'web-par',
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid offline_access read:messages',
        resource: 'urn:codegrant:api',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'par-state',
      },
      { authorization: auth },
    )
    expect(pushed.status).toBe(201)
    const url = new URL('/auth', as.issuer)
    url.searchParams.set('client_id', 'web-par')
    url.searchParams.set('request_uri', pushed.json.request_uri as string)
    const result = await completeLogin(url)
    expect(result.url.searchParams.get('state')).toBe('par-state')
    const tokens = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code: result.url.searchParams.get('code') as string,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      },
      { authorization: auth },
    )
    expect(tokens.status).toBe(200)
    expect(typeof tokens.json.refresh_token).toBe('string')
  })
})

describe('DPoP', () => {
  it('binds web-dpop access tokens to the DPoP key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = await exportJWK(publicKey)
    const proof = await new SignJWT({ htm: 'POST', htu: new URL('/token', as.issuer).href })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .sign(privateKey)
    const body = await codeFor('web-dpop', {
      resource: 'urn:codegrant:api',
      scope: 'openid read:messages',
    })
    const tokens = await post('/token', body, {
      authorization: basicAuth('web-dpop', localClients.webDpop.clientSecret),
      dpop: proof,
    })
    expect(tokens.status).toBe(200)
    expect(tokens.json.token_type).toBe('DPoP')
    const claims = decodeJwt(tokens.json.access_token as string) as { cnf?: { jkt?: string } }
    expect(claims.cnf?.jkt).toBe(await calculateJwkThumbprint(jwk))

    const withoutProof = await codeFor('web-dpop')
    const refused = await post('/token', withoutProof, {
      authorization: basicAuth('web-dpop', localClients.webDpop.clientSecret),
    })
    expect(refused.status).toBe(400)
  })
})

describe('single sign-on', () => {
  it('skips the login page and keeps offline_access on a second login in the same jar', async () => {
    const jar = new CookieJar()
    await codeFor('web-basic', { scope: 'openid offline_access' }, jar)
    const fetchSpy = vi.fn(globalThis.fetch)
    const { verifier, challenge } = pkce()
    const url = authorizeUrl(as, {
      scope: 'openid offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const result = await completeLogin(url, { cookieJar: jar, fetch: fetchSpy })
    expect(fetchSpy.mock.calls.some(([, init]) => init?.method === 'POST')).toBe(false)
    const tokens = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code: result.url.searchParams.get('code') as string,
        redirect_uri: url.searchParams.get('redirect_uri') as string,
        code_verifier: verifier,
      },
      { authorization: basicAuth('web-basic', localClients.webBasic.clientSecret) },
    )
    expect(typeof tokens.json.refresh_token).toBe('string')
  })

  it('does not issue a refresh token when offline_access is not requested', async () => {
    const body = await codeFor('web-basic', { scope: 'openid' })
    const tokens = await post('/token', body, {
      authorization: basicAuth('web-basic', localClients.webBasic.clientSecret),
    })
    expect(tokens.status).toBe(200)
    expect(tokens.json.refresh_token).toBeUndefined()
  })
})

describe('logout', () => {
  let backchannel: Server
  const logoutTokens: string[] = []

  beforeAll(async () => {
    backchannel = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '')
        res.statusCode = 200
        res.end()
      })
    })
    await new Promise<void>((resolve) => backchannel.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => backchannel.close(resolve))
  })

  it('ends the session, redirects to a loopback post_logout_redirect_uri on any port and sends a back-channel logout token', async () => {
    const { port } = backchannel.address() as AddressInfo
    await as.addClient({
      client_id: 'bcl-client',
      client_secret: 'bcl-client-secret-for-local-tests-only',
      redirect_uris: ['http://127.0.0.1/callback'],
      post_logout_redirect_uris: ['http://127.0.0.1/'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      backchannel_logout_uri: `http://127.0.0.1:${port}/backchannel-logout`,
      backchannel_logout_session_required: true,
    })
    as.resetCounts()
    const jar = new CookieJar()
    const body = await codeFor('bcl-client', {}, jar)
    const tokens = await post('/token', body, {
      authorization: basicAuth('bcl-client', 'bcl-client-secret-for-local-tests-only'),
    })
    const idToken = tokens.json.id_token as string
    const sid = decodeJwt(idToken).sid
    expect(typeof sid).toBe('string')

    const endSession = new URL('/session/end', as.issuer)
    endSession.searchParams.set('id_token_hint', idToken)
    endSession.searchParams.set('post_logout_redirect_uri', 'http://127.0.0.1:40999/')
    endSession.searchParams.set('state', 'bye')
    const page = await fetch(endSession, { headers: { cookie: jar.header(endSession) ?? '' } })
    const html = await page.text()
    expect(html).toContain('id="logout-confirm"')

    const result = await completeLogout(endSession, { cookieJar: jar })
    expect(result.url.href).toBe('http://127.0.0.1:40999/?state=bye')
    expect(as.events.map((e) => e.name)).toEqual(
      expect.arrayContaining(['end_session.success', 'backchannel.success']),
    )
    expect(logoutTokens).toHaveLength(1)
    const { payload } = await jwtVerify(
      logoutTokens[0] ?? '',
      createRemoteJWKSet(new URL('/jwks', as.issuer)),
      {
        issuer: as.issuer,
        audience: 'bcl-client',
      },
    )
    expect(payload.sid).toBe(sid)
    expect(payload.events).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout'])

    // The session is gone: prompt=none now needs a login.
    const silent = await completeLogin(
      authorizeUrl(as, { client_id: 'bcl-client', prompt: 'none' }),
      { cookieJar: jar },
    )
    expect(silent.url.searchParams.get('error')).toBe('login_required')
  })

  it('refuses a post_logout_redirect_uri that is not registered', async () => {
    const jar = new CookieJar()
    const body = await codeFor('web-basic', {}, jar)
    const tokens = await post('/token', body, {
      authorization: basicAuth('web-basic', localClients.webBasic.clientSecret),
    })
    const endSession = new URL('/session/end', as.issuer)
    endSession.searchParams.set('id_token_hint', tokens.json.id_token as string)
    endSession.searchParams.set('post_logout_redirect_uri', 'http://evil.example/')
    await expect(completeLogout(endSession, { cookieJar: jar })).rejects.toMatchObject({
      code: 'ERR_AS_ERROR',
    })
  })
})
