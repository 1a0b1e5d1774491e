import { describe, expect, it } from 'vitest'
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  jwtVerify,
} from 'jose'
import * as openid from 'openid-client'
import { createClient, getConfiguration } from '../src/client.js'
import { importPrivateKey } from '../src/client-auth.js'
import type { ClientOptions } from '../src/options.js'
import { createFakeAs, ISSUER, json } from './helpers/fake-as.js'

async function tokenRequestOf(options: Record<string, unknown>) {
  const as = await createFakeAs()
  as.token = () => json({ access_token: 'a', token_type: 'Bearer' })
  const client = await createClient({
    issuer: ISSUER,
    clientId: 'client-1',
    redirectUri: 'https://app.example.com/callback',
    metadata: as.metadata,
    fetch: as.fetch,
    ...options,
  })
  await openid.refreshTokenGrant(getConfiguration(client), 'rt')
  const req = as.requests.find((r) => r.url.endsWith('/token'))
  return { headers: req?.headers ?? new Headers(), body: new URLSearchParams(req?.body) }
}

describe('client authentication', () => {
  it('client_secret_jwt signs HS256 with aud = issuer by default, token endpoint on request', async () => {
    const secret = 'a-client-secret-that-is-long-enough-for-hs256'
    for (const [assertionAudience, aud] of [
      [undefined, ISSUER],
      ['token_endpoint', `${ISSUER}/token`],
    ] as const) {
      const { body } = await tokenRequestOf({
        clientSecret: secret,
        clientAuthMethod: 'client_secret_jwt',
        ...(assertionAudience && { assertionAudience }),
      })
      const assertion = body.get('client_assertion') ?? ''
      const { payload } = await jwtVerify(assertion, new TextEncoder().encode(secret))
      expect(payload).toMatchObject({ aud, iss: 'client-1', sub: 'client-1' })
      expect(body.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      )
      expect(body.has('client_secret')).toBe(false)
    }
  })

  it('private_key_jwt accepts a JWK, a PEM and a CryptoKey', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1' }
    const pem = await exportPKCS8(privateKey)
    for (const key of [jwk, pem, privateKey]) {
      const { body } = await tokenRequestOf({
        privateKey: key,
        privateKeyId: key === jwk ? undefined : 'k1',
      })
      const assertion = body.get('client_assertion') ?? ''
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', kid: 'k1' })
      await expect(jwtVerify(assertion, publicKey)).resolves.toBeDefined()
      expect(decodeJwt(assertion).aud).toBe(ISSUER)
    }
  })

  it('private_key_jwt takes a CryptoKey and a JsonWebKey as the DOM lib types them', async () => {
    // The options name jose's CryptoKey and JWK (no DOM lib in our .d.ts); values typed by the
    // DOM lib (crypto.subtle here: this program has it) must still be accepted as they are.
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])
    const domKey: CryptoKey = pair.privateKey
    const domJwk: JsonWebKey = await crypto.subtle.exportKey('jwk', pair.privateKey)
    const options: Pick<ClientOptions, 'privateKey'>[] = [
      { privateKey: domKey },
      { privateKey: domJwk },
    ]
    for (const { privateKey } of options) {
      const { body } = await tokenRequestOf({ privateKey, privateKeyId: 'k1' })
      const assertion = body.get('client_assertion') ?? ''
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', kid: 'k1' })
      await expect(jwtVerify(assertion, pair.publicKey)).resolves.toBeDefined()
    }
  })

  it('refuses unusable private keys with a TypeError', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true })
    await expect(
      importPrivateKey((await exportJWK(publicKey)) as JsonWebKey, undefined),
    ).rejects.toThrow('"privateKey" must be a private JWK')
    await expect(
      importPrivateKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----', undefined),
    ).rejects.toThrow('"privateKey" is not a valid PEM private key')
    await expect(importPrivateKey(publicKey, undefined)).rejects.toThrow(
      '"privateKey" must be a private key',
    )
  })

  it('none sends only client_id', async () => {
    const { headers, body } = await tokenRequestOf({})
    expect(headers.has('authorization')).toBe(false)
    expect(body.get('client_id')).toBe('client-1')
    expect(body.has('client_secret')).toBe(false)
  })

  it('client_secret_post sends the secret in the body', async () => {
    const { headers, body } = await tokenRequestOf({
      clientSecret: 's',
      clientAuthMethod: 'client_secret_post',
    })
    expect(headers.has('authorization')).toBe(false)
    expect(body.get('client_secret')).toBe('s')
  })
})

describe('client_secret_basic credentials (regression, issue 8.3)', () => {
  const basic = async (clientId: string, clientSecret: string) => {
    const { headers } = await tokenRequestOf({ clientId, clientSecret })
    return headers.get('authorization')
  }
  const header = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`, 'ascii').toString('base64')}`

  it('leaves the unreserved characters - . _ ~ as they are', async () => {
    expect(await basic('codegrant-web_app.v1~x', 'se-cr.et_~')).toBe(
      header('codegrant-web_app.v1~x', 'se-cr.et_~'),
    )
  })

  it("form-encodes everything else: space as +, then + / : % non-ASCII and !*'() as %XX", async () => {
    expect(await basic('a b+c/d:e%f', "é€!*'()")).toBe(
      header('a+b%2Bc%2Fd%3Ae%25f', '%C3%A9%E2%82%AC%21%2A%27%28%29'),
    )
  })

  it('decodes back to the same id and secret with a form decoder', async () => {
    const clientId = 'id -._~+/:%é'
    const clientSecret = 'pw -._~+/:%€'
    const value = (await basic(clientId, clientSecret)) ?? ''
    const decoded = Buffer.from(value.slice('Basic '.length), 'base64').toString('ascii')
    const [user, password] = decoded.split(':')
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    expect(formDecode(user ?? '')).toBe(clientId)
    expect(formDecode(password ?? '')).toBe(clientSecret)
  })

  it('differs from openid-client only on the characters it over-escapes', async () => {
    const theirs = new Headers()
    openid.ClientSecretBasic('s-1')(
      { issuer: ISSUER },
      { client_id: 'web-app' },
      new URLSearchParams(),
      theirs,
    )
    expect(theirs.get('authorization')).toBe(header('web%2Dapp', 's%2D1'))
    expect(await basic('web-app', 's-1')).toBe(header('web-app', 's-1'))
  })
})
