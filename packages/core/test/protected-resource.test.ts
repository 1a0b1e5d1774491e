import {
  base64url,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type JWK,
} from 'jose'
import { describe, expect, it } from 'vitest'
import { createClient, type Client } from '../src/client.js'
import { createDpopKey, getDpopKeyThumbprint, type DpopKey } from '../src/dpop-key.js'
import { CodegrantError } from '../src/errors.js'
import { fetchProtectedResource } from '../src/protected-resource.js'
import { createRecordingClient, type SeenRequest } from './helpers/clients.js'

const API = 'https://api.example.com/v1/items?page=2'

function makeClient(
  answer: (req: SeenRequest, index: number) => Response | Promise<Response>,
  dpop?: DpopKey,
) {
  return createRecordingClient(answer, { client: { ...(dpop && { dpop }) } })
}

async function proofOf(req: SeenRequest | undefined, key: DpopKey) {
  const proof = req?.headers.get('dpop')
  expect(proof).toBeTypeOf('string')
  const header = decodeProtectedHeader(proof as string)
  expect(header).toMatchObject({ typ: 'dpop+jwt', alg: key.alg })
  expect(header.jwk).not.toHaveProperty('d')
  expect(await calculateJwkThumbprint(header.jwk as JWK)).toBe(await getDpopKeyThumbprint(key))
  const { payload } = await jwtVerify(proof as string, await importJWK(header.jwk as JWK, key.alg))
  return payload
}

async function sha256(value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))
  return base64url.encode(new Uint8Array(digest))
}

describe('fetchProtectedResource', () => {
  it('sends a Bearer token and returns the response as is', async () => {
    const { client, seen } = await makeClient(() => new Response('{"ok":true}', { status: 200 }))
    const response = await fetchProtectedResource(
      client,
      { access_token: 'at-1', token_type: 'Bearer' },
      API,
      { headers: { accept: 'application/json' } },
    )
    expect(await response.json()).toEqual({ ok: true })
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer at-1')
    expect(seen[0]?.headers.get('accept')).toBe('application/json')
    expect(seen[0]?.headers.has('dpop')).toBe(false)
  })

  it('takes request headers in every form the DOM HeadersInit allows', async () => {
    const { client, seen } = await makeClient(() => new Response(null, { status: 204 }))
    const forms: HeadersInit[] = [
      { accept: 'application/json' },
      [['accept', 'application/json']],
      new Headers({ accept: 'application/json' }),
    ]
    for (const headers of forms) {
      await fetchProtectedResource(client, { access_token: 'at-1', token_type: 'Bearer' }, API, {
        headers,
      })
    }
    expect(seen.map((req) => req.headers.get('accept'))).toEqual(Array(3).fill('application/json'))
  })

  it('returns a 401 without throwing', async () => {
    const { client } = await makeClient(
      () =>
        new Response(null, {
          status: 401,
          headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
        }),
    )
    const response = await fetchProtectedResource(
      client,
      { access_token: 'at-1', token_type: 'Bearer' },
      API,
    )
    expect(response.status).toBe(401)
  })

  it('sends a DPoP-bound token with a proof: htm, htu without query, ath', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient(() => new Response(null, { status: 204 }), key)
    await fetchProtectedResource(client, { access_token: 'at-1', token_type: 'DPoP' }, API, {
      method: 'post',
      body: 'x=1',
    })
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.body).toBe('x=1')
    expect(seen[0]?.headers.get('authorization')).toBe('DPoP at-1')
    const proof = await proofOf(seen[0], key)
    expect(proof).toMatchObject({
      htm: 'POST',
      htu: 'https://api.example.com/v1/items',
      ath: await sha256('at-1'),
    })
    expect(proof.jti).toBeTypeOf('string')
    expect(proof.nonce).toBeUndefined()
  })

  it('retries once with the resource server nonce, and sends it from then on', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient(
      (_req, index) =>
        index === 0
          ? new Response(null, {
              status: 401,
              headers: {
                'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"',
                'dpop-nonce': 'rs-nonce-1',
              },
            })
          : new Response('ok'),
      key,
    )
    const tokens = { access_token: 'at-1', token_type: 'DPoP' }
    const response = await fetchProtectedResource(client, tokens, API, { body: 'same' })
    expect(await response.text()).toBe('ok')
    expect(seen).toHaveLength(2)
    expect(seen[1]?.body).toBe('same')
    expect((await proofOf(seen[0], key)).nonce).toBeUndefined()
    expect((await proofOf(seen[1], key)).nonce).toBe('rs-nonce-1')
    const jti0 = (await proofOf(seen[0], key)).jti
    expect((await proofOf(seen[1], key)).jti).not.toBe(jti0)

    await fetchProtectedResource(client, tokens, 'https://api.example.com/other')
    expect(seen).toHaveLength(3)
    expect((await proofOf(seen[2], key)).nonce).toBe('rs-nonce-1')
  })

  it('does not retry twice when the server keeps asking for a nonce', async () => {
    const key = await createDpopKey()
    const { client, seen } = await makeClient(
      (_req, index) =>
        new Response(null, {
          status: 401,
          headers: {
            'www-authenticate': 'DPoP error="use_dpop_nonce"',
            'dpop-nonce': `n-${index}`,
          },
        }),
      key,
    )
    const response = await fetchProtectedResource(
      client,
      { access_token: 'at-1', token_type: 'DPoP' },
      API,
    )
    expect(response.status).toBe(401)
    expect(seen).toHaveLength(2)
  })

  it('takes a per-call key over the client key', async () => {
    const appKey = await createDpopKey()
    const callKey = await createDpopKey('PS256')
    const { client, seen } = await makeClient(() => new Response('ok'), appKey)
    await fetchProtectedResource(client, { access_token: 'a', token_type: 'DPoP' }, API, {
      dpop: callKey,
    })
    await proofOf(seen[0], callKey)
  })

  it('fails closed: DPoP token without a key, unknown token_type, insecure URL, bad body', async () => {
    const { client, seen } = await makeClient(() => new Response('ok'))
    const noKey = await fetchProtectedResource(
      client,
      { access_token: 'a', token_type: 'DPoP' },
      API,
    ).catch((e: unknown) => e)
    expect(noKey).toBeInstanceOf(CodegrantError)
    expect((noKey as CodegrantError).code).toBe('ERR_DPOP')

    const mac = await fetchProtectedResource(
      client,
      { access_token: 'a', token_type: 'MAC' },
      API,
    ).catch((e: unknown) => e)
    expect((mac as CodegrantError).code).toBe('ERR_TOKEN_TYPE_UNSUPPORTED')

    const bearer = { access_token: 'a', token_type: 'Bearer' }
    await expect(
      fetchProtectedResource(client, bearer, 'http://api.example.com/x'),
    ).rejects.toThrow('"url"')
    await expect(
      fetchProtectedResource(client, bearer, API, { body: new ReadableStream() as never }),
    ).rejects.toThrow('"body"')
    await expect(
      fetchProtectedResource(client, { access_token: '', token_type: 'Bearer' }, API),
    ).rejects.toThrow('"tokens"')
    expect(seen).toHaveLength(0)

    // http is fine on a loopback host.
    await fetchProtectedResource(client, bearer, 'http://127.0.0.1:4000/api/private')
    expect(seen).toHaveLength(1)
  })

  it('returns a challenge answer (403 insufficient_scope) as is, body unread', async () => {
    const { client } = await makeClient(
      () =>
        new Response('{"error":"insufficient_scope"}', {
          status: 403,
          headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="read"' },
        }),
    )
    const response = await fetchProtectedResource(
      client,
      { access_token: 'at-1', token_type: 'Bearer' },
      API,
    )
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({ error: 'insufficient_scope' })
  })

  it('bounds the whole read by "timeout" (ERR_TIMEOUT), but not the size by "maxResponseSize"', async () => {
    const big = 'x'.repeat(4096)
    const { client } = await createRecordingClient(
      (req) =>
        req.url.endsWith('/big')
          ? new Response(big)
          : new Response(
              new ReadableStream({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode('{"partial":'))
                },
              }),
            ),
      { client: { timeout: 200, maxResponseSize: 1024 } },
    )
    const bearer = { access_token: 'at-1', token_type: 'Bearer' }
    const large = await fetchProtectedResource(client, bearer, 'https://api.example.com/big')
    expect(await large.text()).toBe(big)

    const stalled = await fetchProtectedResource(client, bearer, 'https://api.example.com/stall')
    const err = await stalled.text().catch((e: unknown) => e)
    let found: unknown = err
    while (found instanceof Error && !(found instanceof CodegrantError)) found = found.cause
    expect(found).toBeInstanceOf(CodegrantError)
    expect((found as CodegrantError).code).toBe('ERR_TIMEOUT')
  })

  it('maps a failure below HTTP to ERR_NETWORK', async () => {
    const { client } = await makeClient(() => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })
    })
    const err = await fetchProtectedResource(
      client,
      { access_token: 'at-1', token_type: 'Bearer' },
      API,
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CodegrantError)
    expect((err as CodegrantError).code).toBe('ERR_NETWORK')
    expect((err as Error).message).not.toContain('at-1')
  })
})
