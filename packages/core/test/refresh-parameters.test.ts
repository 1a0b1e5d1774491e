// Regression: the refresh single-flight was keyed on the refresh token alone, so a caller asking
// for another resource or scope got the first caller's access token.
import { describe, expect, it } from 'vitest'
import { refreshTokens } from '../src/refresh.js'
import { setupFakeAs } from './helpers/clients.js'
import { json } from './helpers/fake-as.js'

describe('refreshTokens with different parameters on one refresh token', () => {
  it('does not share a result across resources: the second waits, then uses the rotated token', async () => {
    const { as, client } = await setupFakeAs()
    const seen: { refreshToken: string | null; resource: string | null }[] = []
    let n = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    as.token = async (body) => {
      seen.push({ refreshToken: body.get('refresh_token'), resource: body.get('resource') })
      await gate
      n++
      return json({
        access_token: `at-for-${body.get('resource')}`,
        token_type: 'Bearer',
        refresh_token: `rt-${n}`,
      })
    }
    const a = refreshTokens(client, 'rt-0', { resource: 'urn:api:a' })
    const b = refreshTokens(client, 'rt-0', { resource: 'urn:api:b' })
    release()
    const [ra, rb] = await Promise.all([a, b])
    expect(ra.tokens.access_token).toBe('at-for-urn:api:a')
    expect(rb.tokens.access_token).toBe('at-for-urn:api:b')
    // The old refresh token is sent once; the second request uses the one the first produced.
    expect(seen).toEqual([
      { refreshToken: 'rt-0', resource: 'urn:api:a' },
      { refreshToken: 'rt-1', resource: 'urn:api:b' },
    ])
  })

  it('still shares one request among identical calls', async () => {
    const { as, client } = await setupFakeAs()
    let calls = 0
    as.token = async () => {
      calls++
      return json({ access_token: 'at', token_type: 'Bearer', refresh_token: 'rt-new' })
    }
    await Promise.all([
      refreshTokens(client, 'rt-x', { scope: 'openid' }),
      refreshTokens(client, 'rt-x', { scope: 'openid' }),
    ])
    expect(calls).toBe(1)
  })
})
