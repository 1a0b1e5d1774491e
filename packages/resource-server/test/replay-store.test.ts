import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import {
  createRedisReplayStore,
  createVerifier,
  ResourceServerError,
  type RedisSetClient,
  type VerifierOptions,
} from '../src/index.js'
import { jwkThumbprint } from '../src/dpop.js'
import { AUDIENCE, ath, fakeAs, ISSUER, makeKey, mint, now, type SigningKey } from './helpers.js'

const URL_ = 'https://api.example.com/api/private'
let rsa: SigningKey
let client: { privateKey: CryptoKey; jwk: JWK; jkt: string }

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  const pair = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(pair.publicKey)
  client = { privateKey: pair.privateKey, jwk, jkt: jwkThumbprint(jwk as Record<string, unknown>) }
})

/** A Redis stand-in with SET NX PX semantics, shared by the "instances" of a test. */
function fakeRedis() {
  const keys = new Map<string, number>()
  const state = {
    down: false,
    hang: false,
    calls: [] as { key: string; options: { NX: true; PX: number } }[],
  }
  const redis: RedisSetClient = {
    set(key, _value, options) {
      state.calls.push({ key, options })
      if (state.hang) return new Promise(() => undefined)
      if (state.down) return Promise.reject(new Error('connect ECONNREFUSED'))
      const expires = keys.get(key)
      if (expires !== undefined && expires > Date.now()) return Promise.resolve(null)
      keys.set(key, Date.now() + options.PX)
      return Promise.resolve('OK')
    },
  }
  return { redis, state }
}

function instance(redis: RedisSetClient, options: Partial<VerifierOptions> = {}) {
  const as = fakeAs([rsa.publicJwk])
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: as.fetch,
    dpop: { replayStore: createRedisReplayStore(redis, { timeout: 100 }) },
    ...options,
  })
}

function proof(token: string, claims: Record<string, unknown> = {}) {
  return new SignJWT({
    jti: randomUUID(),
    htm: 'GET',
    htu: URL_,
    iat: now(),
    ath: ath(token),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: client.jwk })
    .sign(client.privateKey)
}

const request = (token: string, dpop: string) => ({
  headers: { authorization: `DPoP ${token}`, dpop },
  method: 'GET',
  url: URL_,
})

async function refusal(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

describe('shared DPoP replay store', () => {
  it('refuses on one instance a proof another instance accepted: one SET NX PX per proof', async () => {
    const { redis, state } = fakeRedis()
    const a = instance(redis)
    const b = instance(redis)
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const p = await proof(token)
    await expect(a.verify(request(token, p))).resolves.toBeDefined()
    const replay = await refusal(b.verify(request(token, p)))
    expect(replay.code).toBe('ERR_DPOP_PROOF_INVALID')
    expect(replay.description).toBe('The DPoP proof was already used')
    expect(state.calls).toHaveLength(2)
    expect(state.calls[0]!.key).toMatch(new RegExp(`^codegrant:dpop:${client.jkt}:`))
    // Kept for the whole proof window: proofMaxAge + 2 x clockTolerance.
    expect(state.calls[0]!.options).toEqual({ NX: true, PX: (300 + 2 * 5) * 1000 })
    await expect(b.verify(request(token, await proof(token)))).resolves.toBeDefined()
  })

  it('fails closed with 503 while the store is down or silent, and recovers', async () => {
    const { redis, state } = fakeRedis()
    const verifier = instance(redis, { logger: { warn: () => undefined } })
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    state.down = true
    const down = await refusal(verifier.verify(request(token, await proof(token))))
    expect(down.code).toBe('ERR_REPLAY_STORE_UNAVAILABLE')
    expect(down.status).toBe(503)
    expect(down.headers['www-authenticate']).toBeUndefined()
    state.down = false
    state.hang = true
    const silent = await refusal(verifier.verify(request(token, await proof(token))))
    expect(silent.code).toBe('ERR_REPLAY_STORE_UNAVAILABLE')
    state.hang = false
    await expect(verifier.verify(request(token, await proof(token)))).resolves.toBeDefined()
  })

  it('shares stateless server nonces between instances with the same secret (no store call)', async () => {
    const { redis, state } = fakeRedis()
    const dpop = {
      nonceSecret: 'a-shared-nonce-secret-of-32-bytes!!',
      replayStore: createRedisReplayStore(redis),
    }
    const a = instance(redis, { dpop })
    const b = instance(redis, { dpop })
    const token = await mint(rsa, { cnf: { jkt: client.jkt } })
    const asked = await refusal(a.verify(request(token, await proof(token))))
    expect(asked.code).toBe('ERR_DPOP_NONCE_REQUIRED')
    const nonce = asked.headers['dpop-nonce']!
    expect(state.calls).toHaveLength(0)
    await expect(b.verify(request(token, await proof(token, { nonce })))).resolves.toBeDefined()
    expect(state.calls).toHaveLength(1)
  })

  it('validates its arguments', () => {
    expect(() => createRedisReplayStore({} as RedisSetClient)).toThrow('"client"')
    expect(() => createRedisReplayStore(fakeRedis().redis, { timeout: 0 })).toThrow('"timeout"')
    expect(() =>
      createVerifier({ issuer: ISSUER, audience: AUDIENCE, dpop: { replayStore: {} as never } }),
    ).toThrow('"dpop.replayStore"')
  })
})
