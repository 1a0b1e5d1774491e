// ID token checks beyond openid-client's (issue 8.4, 13.5): a rotated signing key is fetched on
// its first use with a 30 s cooldown, single-flight and bounded under a flood of unknown kids;
// `azp` present and not our client_id is refused; `iat` in the future beyond the tolerance too.
import { exportJWK, generateKeyPair } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { JWKS_COOLDOWN_MS } from '../src/jwks.js'
import { refreshTokens } from '../src/refresh.js'
import { failure, setupFakeAs } from './helpers/clients.js'
import { json, type FakeAs } from './helpers/fake-as.js'

afterEach(() => {
  vi.useRealTimers()
})

/** The AS answers each refresh with an ID token of `claims`, signed as `header` says. */
function answerWithIdToken(
  as: FakeAs,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) {
  as.token = async () =>
    json({
      access_token: 'at',
      token_type: 'Bearer',
      expires_in: 300,
      id_token: await as.idToken(claims, header),
    })
}

/** Publishes a new signing key and signs with it from now on (the old one is withdrawn). */
async function rotate(as: FakeAs, kid: string) {
  const next = await generateKeyPair('RS256')
  as.jwks.keys = [{ ...(await exportJWK(next.publicKey)), kid, alg: 'RS256', use: 'sig' }]
  as.signingKey = next.privateKey
  as.kid = kid
}

let n = 0
const refresh = (client: Parameters<typeof refreshTokens>[0]) => refreshTokens(client, `rt-${++n}`)

describe('signing key rotation (regression, issue 8.4)', () => {
  it('accepts a new kid 31 s after the last JWKS fetch (oauth4webapi waited 60 s)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as)
    await refresh(client)
    expect(as.jwksFetches).toBe(1)

    await rotate(as, 'key-2')
    vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS + 1000)
    const { claims } = await refresh(client)
    expect(claims?.sub).toBe('user-1')
    expect(as.jwksFetches).toBe(2)
  })

  it('refuses an unknown kid within the cooldown without fetching, then accepts it once the cooldown ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as)
    await refresh(client)
    await rotate(as, 'key-2')

    vi.setSystemTime(Date.now() + 5000)
    const err = await failure(refresh(client))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    expect(err.message).toContain('no key of the authorization server JWKS matches its "kid"')
    expect(as.jwksFetches).toBe(1)

    vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS - 5000) // exactly one cooldown after the fetch
    await expect(refresh(client)).resolves.toBeDefined()
    expect(as.jwksFetches).toBe(2)
  })

  it('makes one fetch for a burst of concurrent unknown kids, and none for a flood within the cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as)
    await refresh(client)
    await rotate(as, 'key-2')
    vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS)

    // 20 concurrent logins with the new kid: one JWKS fetch, all accepted.
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(client)))
    expect(results).toHaveLength(20)
    expect(as.jwksFetches).toBe(2)

    // A flood of kids no JWKS has, inside the cooldown: all refused, no fetch.
    for (let i = 0; i < 50; i++) {
      answerWithIdToken(as, {}, { kid: `flood-${i}` })
      expect((await failure(refresh(client))).code).toBe('ERR_ID_TOKEN_INVALID')
    }
    expect(as.jwksFetches).toBe(2)

    // After the cooldown, the flood costs one fetch per cooldown.
    vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS)
    for (let i = 0; i < 10; i++) {
      answerWithIdToken(as, {}, { kid: `flood-again-${i}` })
      await failure(refresh(client))
    }
    expect(as.jwksFetches).toBe(3)
  })
})

describe('ID token claims openid-client leaves out', () => {
  it('refuses an "azp" that is not our client_id, even with a single audience', async () => {
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as, { azp: 'another-client' })
    const err = await failure(refresh(client))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    expect(err.message).toContain('"azp" is not our client_id')
  })

  it('accepts "azp" equal to our client_id', async () => {
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as, { azp: as.clientId })
    await expect(refresh(client)).resolves.toBeDefined()
  })

  it('refuses "iat" further in the future than the clock tolerance (regression, issue 13.5)', async () => {
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as, { iat: Math.floor(Date.now() / 1000) + 3600 })
    const err = await failure(refresh(client))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    expect(err.message).toContain('"iat" is in the future')
  })

  it('accepts "iat" ahead by less than the clock tolerance (5 s)', async () => {
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as, { iat: Math.floor(Date.now() / 1000) + 3 })
    await expect(refresh(client)).resolves.toBeDefined()
  })
})
