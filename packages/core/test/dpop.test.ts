import {
  base64url,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type JWK,
} from 'jose'
import * as openid from 'openid-client'
import { describe, expect, it } from 'vitest'
import { createClient, getConfiguration, type Client } from '../src/client.js'
import { dpopJkt, dpopOptions } from '../src/dpop.js'
import { createDpopKey, getDpopKeyThumbprint, type DpopKey } from '../src/dpop-key.js'
import { CodegrantError } from '../src/errors.js'
import { fetchUserInfo } from '../src/userinfo.js'
import { createRecordingClient, type SeenRequest } from './helpers/clients.js'
import { ISSUER, json } from './helpers/fake-as.js'

function makeClient(
  answer: (req: SeenRequest, index: number) => Response | Promise<Response>,
  dpop?: DpopKey,
) {
  return createRecordingClient(answer, {
    client: { ...(dpop && { dpop }) },
    metadata: {
      userinfo_endpoint: `${ISSUER}/me?x=1`,
      dpop_signing_alg_values_supported: ['ES256'],
    },
  })
}

async function sha256(value: string): Promise<string> {
  return base64url.encode(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))),
  )
}

/** Verifies a DPoP proof with the key in its own header and returns its claims. */
async function verifyProof(proof: string | null, key: DpopKey) {
  expect(proof).toBeTypeOf('string')
  const header = decodeProtectedHeader(proof as string)
  expect(header.typ).toBe('dpop+jwt')
  expect(header.alg).toBe(key.alg)
  expect(header.jwk).toBeDefined()
  expect(header.jwk).not.toHaveProperty('d')
  expect(await calculateJwkThumbprint(header.jwk as JWK)).toBe(await getDpopKeyThumbprint(key))
  const { payload } = await jwtVerify(
    proof as string,
    await importJWK(header.jwk as JWK, key.alg),
    {
      typ: 'dpop+jwt',
    },
  )
  expect(payload.jti).toBeTypeOf('string')
  expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60)
  return payload
}

describe('createDpopKey', () => {
  it('returns a plain-JSON ES256 key pair by default', async () => {
    const key = await createDpopKey()
    expect(key.alg).toBe('ES256')
    expect(key.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256' })
    expect(key.privateJwk).toHaveProperty('d')
    expect(key.publicJwk).not.toHaveProperty('d')
    expect(JSON.parse(JSON.stringify(key))).toEqual(key)
  })

  it('gives JWKs that Web Crypto imports as DOM JsonWebKeys, and takes DOM JsonWebKeys', async () => {
    const key = await createDpopKey()
    const params = { name: 'ECDSA', namedCurve: 'P-256' }
    const domPublic: JsonWebKey = key.publicJwk
    const publicKey = await crypto.subtle.importKey('jwk', domPublic, params, true, ['verify'])
    const privateKey = await crypto.subtle.importKey('jwk', key.privateJwk, params, true, ['sign'])
    const fromDom: DpopKey = {
      alg: 'ES256',
      privateJwk: await crypto.subtle.exportKey('jwk', privateKey),
      publicJwk: await crypto.subtle.exportKey('jwk', publicKey),
    }
    expect(await getDpopKeyThumbprint(fromDom)).toBe(await getDpopKeyThumbprint(key))
  })

  it('computes the RFC 7638 thumbprint of the public key', async () => {
    const key = await createDpopKey()
    expect(await getDpopKeyThumbprint(key)).toBe(await calculateJwkThumbprint(key.publicJwk as JWK))
    expect(await getDpopKeyThumbprint(JSON.parse(JSON.stringify(key)) as DpopKey)).toBe(
      await getDpopKeyThumbprint(key),
    )
  })

  it('refuses an unknown algorithm and a malformed key with a TypeError', async () => {
    await expect(createDpopKey('HS256' as never)).rejects.toThrow('"alg"')
    const key = await createDpopKey()
    await expect(getDpopKeyThumbprint({ ...key, publicJwk: key.privateJwk })).rejects.toThrow(
      '"dpop"',
    )
    await expect(
      createClient({
        issuer: ISSUER,
        clientId: 'c',
        redirectUri: 'https://app.example.com/cb',
        metadata: {
          issuer: ISSUER,
          authorization_endpoint: `${ISSUER}/a`,
          token_endpoint: `${ISSUER}/t`,
        },
        dpop: { alg: 'ES256' } as never,
      }).then((client) => dpopOptions(client)),
    ).rejects.toThrow('"dpop"')
  })
})

describe('DPoP proofs (RFC 9449)', () => {
  it.each(['ES256', 'PS256', 'Ed25519'] as const)(
    'signs a userinfo request with %s: Authorization DPoP, htm, htu without query, ath',
    async (alg) => {
      const key = await createDpopKey(alg)
      const { client, seen } = await makeClient(() => json({ sub: 'user-1' }))
      await fetchUserInfo(client, 'at-1', 'user-1', { dpop: key })
      const req = seen[0] as SeenRequest
      expect(req.headers.get('authorization')).toBe('DPoP at-1')
      const proof = await verifyProof(req.headers.get('dpop'), key)
      expect(proof.htm).toBe('GET')
      expect(proof.htu).toBe(`${ISSUER}/me`)
      expect(proof.ath).toBe(await sha256('at-1'))
      expect(proof.nonce).toBeUndefined()
    },
  )

  it('retries once with the server nonce (use_dpop_nonce) and reuses it on the next call', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient((req, index) => {
      if (index === 0) {
        return json({}, 401, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce"',
          'dpop-nonce': 'nonce-1',
        })
      }
      return json({ sub: 'user-1' })
    })
    await expect(fetchUserInfo(client, 'at-1', 'user-1', { dpop: key })).resolves.toEqual({
      sub: 'user-1',
    })
    expect(seen).toHaveLength(2)
    expect((await verifyProof(seen[0]?.headers.get('dpop') ?? null, key)).nonce).toBeUndefined()
    expect((await verifyProof(seen[1]?.headers.get('dpop') ?? null, key)).nonce).toBe('nonce-1')

    // Same key (as a fresh JSON copy, as from a session): the learnt nonce is sent at once.
    await fetchUserInfo(client, 'at-1', 'user-1', { dpop: JSON.parse(JSON.stringify(key)) })
    expect(seen).toHaveLength(3)
    expect((await verifyProof(seen[2]?.headers.get('dpop') ?? null, key)).nonce).toBe('nonce-1')
  })

  it('gives up after one nonce retry with ERR_DPOP', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient((_req, index) =>
      json({}, 401, {
        'www-authenticate': 'DPoP error="use_dpop_nonce"',
        'dpop-nonce': `nonce-${index}`,
      }),
    )
    const err = await fetchUserInfo(client, 'at-1', 'user-1', { dpop: key }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(CodegrantError)
    expect((err as CodegrantError).code).toBe('ERR_DPOP')
    expect(seen).toHaveLength(2)
  })

  it('retries a token request with the nonce of a 400 use_dpop_nonce answer', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient((_req, index) =>
      index === 0
        ? json({ error: 'use_dpop_nonce' }, 400, { 'dpop-nonce': 'tok-nonce' })
        : json({ access_token: 'at-2', token_type: 'DPoP', expires_in: 60 }),
    )
    const result = await openid.refreshTokenGrant(
      getConfiguration(client),
      'rt-1',
      {},
      await dpopOptions(client, key),
    )
    expect(result.token_type).toBe('dpop')
    expect(seen).toHaveLength(2)
    const first = await verifyProof(seen[0]?.headers.get('dpop') ?? null, key)
    expect(first).toMatchObject({ htm: 'POST', htu: `${ISSUER}/token` })
    expect(first.ath).toBeUndefined()
    expect((await verifyProof(seen[1]?.headers.get('dpop') ?? null, key)).nonce).toBe('tok-nonce')
  })

  it('uses the client-level dpop key by default, and the per-call key over it', async () => {
    const appKey = await createDpopKey()
    const callKey = await createDpopKey()
    const { client, seen } = await makeClient(() => json({ sub: 'user-1' }), appKey)
    await fetchUserInfo(client, 'at-1', 'user-1')
    await fetchUserInfo(client, 'at-1', 'user-1', { dpop: callKey })
    await verifyProof(seen[0]?.headers.get('dpop') ?? null, appKey)
    await verifyProof(seen[1]?.headers.get('dpop') ?? null, callKey)
    expect(await dpopJkt(client)).toBe(await getDpopKeyThumbprint(appKey))
    expect(await dpopJkt(client, callKey)).toBe(await getDpopKeyThumbprint(callKey))
  })

  it('fetchUserInfo with a token set: token_type picks the scheme', async () => {
    const appKey = await createDpopKey()
    const { client, seen } = await makeClient(() => json({ sub: 'user-1' }), appKey)
    await fetchUserInfo(client, { access_token: 'at-b', token_type: 'Bearer' }, 'user-1')
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer at-b')
    expect(seen[0]?.headers.has('dpop')).toBe(false)
    await fetchUserInfo(client, { access_token: 'at-d', token_type: 'DPoP' }, 'user-1')
    expect(seen[1]?.headers.get('authorization')).toBe('DPoP at-d')
    await verifyProof(seen[1]?.headers.get('dpop') ?? null, appKey)

    const mac = await fetchUserInfo(
      client,
      { access_token: 'x', token_type: 'MAC' },
      'user-1',
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((mac as CodegrantError).code).toBe('ERR_TOKEN_TYPE_UNSUPPORTED')

    const { client: noKey, seen: none } = await makeClient(() => json({ sub: 'user-1' }))
    const err = await fetchUserInfo(
      noKey,
      { access_token: 'at-d', token_type: 'DPoP' },
      'user-1',
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((err as CodegrantError).code).toBe('ERR_DPOP')
    expect(none).toHaveLength(0)
  })

  it('sends no DPoP header and no dpop_jkt without a key', async () => {
    const { client, seen } = await makeClient(() => json({ sub: 'user-1' }))
    await fetchUserInfo(client, 'at-1', 'user-1')
    expect(seen[0]?.headers.has('dpop')).toBe(false)
    expect(await dpopJkt(client)).toBeUndefined()
    expect(await dpopOptions(client)).toEqual({})
  })

  it('fails with ERR_DPOP for a key that cannot be imported', async () => {
    const key = await createDpopKey()
    const broken: DpopKey = { ...key, privateJwk: { ...key.privateJwk, d: 'AAAA' } }
    const { client } = await makeClient(() => json({ sub: 'user-1' }))
    const err = await fetchUserInfo(client, 'at-1', 'user-1', { dpop: broken }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(CodegrantError)
    expect((err as CodegrantError).code).toBe('ERR_DPOP')
  })
})
