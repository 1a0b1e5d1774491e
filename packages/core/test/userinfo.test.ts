import { describe, expect, it } from 'vitest'
import { fetchUserInfo } from '../src/userinfo.js'
import { createRecordingClient, failure } from './helpers/clients.js'
import { ISSUER, json } from './helpers/fake-as.js'

function makeClient(
  answer: () => Response | Promise<Response>,
  metadata: Record<string, unknown> = { userinfo_endpoint: `${ISSUER}/me` },
) {
  return createRecordingClient(answer, { metadata })
}

describe('fetchUserInfo', () => {
  it('returns the claims as plain JSON, sending the access token as a Bearer token', async () => {
    const { client, seen } = await makeClient(() =>
      json({ sub: 'user-1', email: 'a@example.com', email_verified: true }),
    )
    const claims = await fetchUserInfo(client, 'at-1', 'user-1')
    expect(claims).toEqual({ sub: 'user-1', email: 'a@example.com', email_verified: true })
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype)
    expect(seen[0]?.url).toBe(`${ISSUER}/me`)
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer at-1')
  })

  it('fails with ERR_USERINFO_SUB_MISMATCH when sub differs from the expected one', async () => {
    const { client } = await makeClient(() => json({ sub: 'someone-else', email: 'x@example.com' }))
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_USERINFO_SUB_MISMATCH')
    expect(err.message).not.toContain('someone-else')
  })

  it('fails with ERR_RESPONSE_INVALID when sub is missing', async () => {
    const { client } = await makeClient(() => json({ email: 'x@example.com' }))
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_RESPONSE_INVALID')
  })

  it('maps a Bearer challenge (401 invalid_token) with error and status', async () => {
    const { client } = await makeClient(() =>
      json({}, 401, { 'www-authenticate': 'Bearer error="invalid_token"' }),
    )
    const err = await failure(fetchUserInfo(client, 'expired-at', 'user-1'))
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('invalid_token')
    expect(err.status).toBe(401)
    expect(err.message).not.toContain('expired-at')
  })

  it('fails with ERR_UNSUPPORTED without a userinfo_endpoint', async () => {
    const { client, seen } = await makeClient(() => json({ sub: 'user-1' }), {})
    const err = await failure(fetchUserInfo(client, 'at-1', 'user-1'))
    expect(err.code).toBe('ERR_UNSUPPORTED')
    expect(seen).toHaveLength(0)
  })

  it('refuses misuse with a TypeError naming the argument', async () => {
    const { client } = await makeClient(() => json({ sub: 'user-1' }))
    await expect(fetchUserInfo(client, '', 'user-1')).rejects.toThrow('"accessToken"')
    await expect(fetchUserInfo(client, 'at', '')).rejects.toThrow('"expectedSub"')
  })
})
