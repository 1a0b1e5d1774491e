// ID token claim checks of verifyIdToken, at the edges the issue 15 mutation pass found
// untested: a future `iat` only seconds or minutes ahead, and the registered algorithm.
import { describe, expect, it } from 'vitest'
import { refreshTokens } from '../src/refresh.js'
import { failure, setupFakeAs } from './helpers/clients.js'
import { json, type FakeAs } from './helpers/fake-as.js'

function answerWithIdToken(as: FakeAs, claims: Record<string, unknown>) {
  as.token = async () =>
    json({
      access_token: 'at',
      token_type: 'Bearer',
      expires_in: 300,
      id_token: await as.idToken(claims),
    })
}

let n = 0
const nextToken = () => `rt-claims-${++n}`
const now = () => Math.floor(Date.now() / 1000)

describe('"iat" in the future', () => {
  it('refuses an "iat" 30 s ahead with the default 5 s tolerance (mutant future-iat-tolerance-widened)', async () => {
    const { as, client } = await setupFakeAs()
    answerWithIdToken(as, { iat: now() + 30 })
    const err = await failure(refreshTokens(client, nextToken()))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    expect(err.message).toContain('"iat" is in the future')
  })

  it('measures the tolerance in seconds: "clockTolerance: 60" accepts 30 s ahead and refuses 90 s', async () => {
    const { as, client } = await setupFakeAs({}, { clockTolerance: 60 })
    answerWithIdToken(as, { iat: now() + 30 })
    await expect(refreshTokens(client, nextToken())).resolves.toBeDefined()
    answerWithIdToken(as, { iat: now() + 90 })
    const err = await failure(refreshTokens(client, nextToken()))
    expect(err.code).toBe('ERR_ID_TOKEN_INVALID')
    expect(err.message).toContain('"iat" is in the future')
  })
})
