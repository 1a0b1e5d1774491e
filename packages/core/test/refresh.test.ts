import { afterEach, describe, expect, it, vi } from 'vitest'
import { CodegrantError } from '../src/errors.js'
import { REFRESH_GRACE_MS, REFRESH_MARGIN_S, refreshTokens } from '../src/refresh.js'
import type { TokenSet } from '../src/types.js'
import { setupFakeAs } from './helpers/clients.js'
import { ISSUER, json } from './helpers/fake-as.js'

const tokenCalls = (as: { requests: { url: string }[] }) =>
  as.requests.filter((r) => r.url.endsWith('/token')).length

afterEach(() => {
  vi.useRealTimers()
})

describe('refreshTokens', () => {
  it('rotates the refresh token and validates the new ID token', async () => {
    const { as, client } = await setupFakeAs()
    const old: TokenSet = {
      access_token: 'at-0',
      token_type: 'Bearer',
      refresh_token: 'rt-1',
      id_token: await as.idToken(),
    }
    as.token = async (body) => {
      expect(body.get('grant_type')).toBe('refresh_token')
      expect(body.get('refresh_token')).toBe('rt-1')
      return json({
        access_token: 'at-1',
        token_type: 'Bearer',
        expires_in: 60,
        refresh_token: 'rt-2',
        id_token: await as.idToken({ sid: 'after-refresh' }),
      })
    }
    const { tokens, claims } = await refreshTokens(client, old)
    expect(tokens).toMatchObject({
      access_token: 'at-1',
      refresh_token: 'rt-2',
      token_type: 'Bearer',
    })
    expect(tokens.id_token).not.toBe(old.id_token)
    expect(claims).toMatchObject({ sub: 'user-1', sid: 'after-refresh' })
  })

  it('keeps the old refresh token and id_token when the response has none', async () => {
    const { as, client } = await setupFakeAs()
    as.token = () => json({ access_token: 'at-1', token_type: 'bearer', scope: 'openid' })
    const { tokens, claims } = await refreshTokens(client, {
      access_token: 'a',
      token_type: 'Bearer',
      refresh_token: 'rt-keep',
      id_token: 'old.id.token',
    })
    expect(tokens).toEqual({
      access_token: 'at-1',
      token_type: 'Bearer',
      refresh_token: 'rt-keep',
      id_token: 'old.id.token',
      scope: 'openid',
    })
    expect(claims).toBeUndefined()
  })

  it('sends scope and resource', async () => {
    const { as, client } = await setupFakeAs()
    as.token = (body) => {
      expect(body.get('scope')).toBe('api:read')
      expect(body.getAll('resource')).toEqual(['https://a.example', 'https://b.example'])
      return json({ access_token: 'x', token_type: 'Bearer' })
    }
    await refreshTokens(client, 'rt-s', {
      scope: 'api:read',
      resource: ['https://a.example', 'https://b.example'],
    })
    expect(tokenCalls(as)).toBe(1)
  })

  it('refuses a new ID token with a different sub', async () => {
    const { as, client } = await setupFakeAs()
    as.token = async () =>
      json({
        access_token: 'x',
        token_type: 'Bearer',
        id_token: await as.idToken({ sub: 'mallory' }),
      })
    const err = await refreshTokens(client, {
      access_token: 'a',
      token_type: 'Bearer',
      refresh_token: 'rt-sub',
      id_token: await as.idToken(),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CodegrantError)
    expect(err).toMatchObject({ code: 'ERR_ID_TOKEN_INVALID' })
  })

  it('maps invalid_grant to ERR_INVALID_GRANT without leaking the token', async () => {
    const { as, client } = await setupFakeAs()
    as.token = () => json({ error: 'invalid_grant', error_description: 'grant revoked' }, 400)
    const err = (await refreshTokens(client, 'rt-secret-value').catch(
      (e: unknown) => e,
    )) as CodegrantError
    expect(err.code).toBe('ERR_INVALID_GRANT')
    expect(err.error).toBe('invalid_grant')
    expect(err.message).not.toContain('rt-secret-value')
  })

  it('refuses a missing refresh token with a TypeError', async () => {
    const { client } = await setupFakeAs()
    await expect(
      refreshTokens(client, { access_token: 'a', token_type: 'Bearer' }),
    ).rejects.toThrow(TypeError)
  })

  it('shares one request among concurrent calls and serves a latecomer within the grace window', async () => {
    const { as, client } = await setupFakeAs()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    as.token = async () => {
      await gate
      return json({ access_token: 'at-new', token_type: 'Bearer', refresh_token: 'rt-new' })
    }
    const calls = Array.from({ length: 10 }, () => refreshTokens(client, 'rt-old'))
    release()
    const results = await Promise.all(calls)
    expect(tokenCalls(as)).toBe(1)
    for (const r of results) expect(r.tokens).toEqual(results[0]?.tokens)
    expect(results[0]?.tokens.refresh_token).toBe('rt-new')
    // Each caller gets its own copy.
    expect(results[0]).not.toBe(results[1])

    const late = await refreshTokens(client, 'rt-old')
    expect(late.tokens.refresh_token).toBe('rt-new')
    expect(tokenCalls(as)).toBe(1)
  })

  it('refreshes again after the grace window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { as, client } = await setupFakeAs()
    as.token = () => json({ access_token: 'at-new', token_type: 'Bearer', refresh_token: 'rt-new' })
    await refreshTokens(client, 'rt-g')
    vi.setSystemTime(Date.now() + REFRESH_GRACE_MS + 1)
    await refreshTokens(client, 'rt-g')
    expect(tokenCalls(as)).toBe(2)
  })

  it('drops the kept result when the grace window closes, without another call', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    const { as, client } = await setupFakeAs()
    as.token = () => json({ access_token: 'at-new', token_type: 'Bearer', refresh_token: 'rt-new' })
    await refreshTokens(client, 'rt-t')
    await refreshTokens(client, 'rt-t')
    expect(tokenCalls(as)).toBe(1)
    vi.advanceTimersByTime(REFRESH_GRACE_MS)
    await refreshTokens(client, 'rt-t')
    expect(tokenCalls(as)).toBe(2)
  })

  it('does not keep a failure: the next call retries', async () => {
    const { as, client } = await setupFakeAs()
    let n = 0
    as.token = () =>
      n++ === 0
        ? json({ error: 'server_error' }, 503)
        : json({ access_token: 'ok', token_type: 'Bearer' })
    await expect(refreshTokens(client, 'rt-f')).rejects.toMatchObject({
      code: 'ERR_RESPONSE_INVALID',
    })
    await expect(refreshTokens(client, 'rt-f')).resolves.toMatchObject({
      tokens: { access_token: 'ok' },
    })
  })

  it('shares a failure among concurrent callers', async () => {
    const { as, client } = await setupFakeAs()
    as.token = () => json({ error: 'invalid_grant' }, 400)
    const results = await Promise.allSettled([
      refreshTokens(client, 'rt-x'),
      refreshTokens(client, 'rt-x'),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(tokenCalls(as)).toBe(1)
  })

  describe('regression (issue 8.1): an AS that does not rotate refresh tokens', () => {
    /** An AS that keeps the refresh token and issues `lifetime`-second access tokens. */
    async function nonRotating(lifetime: number) {
      const { as, client } = await setupFakeAs()
      let n = 0
      as.token = () =>
        json({ access_token: `at-${++n}`, token_type: 'Bearer', expires_in: lifetime })
      return { as, client }
    }

    it('does not hand out a kept set whose access token has expired: the refresh reaches the AS', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const { as, client } = await nonRotating(3)
      const first = await refreshTokens(client, 'rt-same')
      expect(first.tokens.access_token).toBe('at-1')
      vi.setSystemTime(Date.now() + 4000) // inside the 10 s window, after the token expired
      const second = await refreshTokens(client, 'rt-same')
      expect(tokenCalls(as)).toBe(2)
      expect(second.tokens.access_token).toBe('at-2')
      expect(second.tokens.expires_at).toBeGreaterThan(Date.now() / 1000)
    })

    it('does not hand out a kept set within the refresh margin (capped at half its lifetime)', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const { as, client } = await nonRotating(4)
      await refreshTokens(client, 'rt-m')
      vi.setSystemTime(Date.now() + 1000) // 1 s of 4: still fresh, shared
      expect((await refreshTokens(client, 'rt-m')).tokens.access_token).toBe('at-1')
      expect(tokenCalls(as)).toBe(1)
      vi.setSystemTime(Date.now() + 1500) // 2.5 s of 4: past half its life
      expect((await refreshTokens(client, 'rt-m')).tokens.access_token).toBe('at-2')
      expect(tokenCalls(as)).toBe(2)
    })

    it('applies the caller margin, capped at half the lifetime', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const { as, client } = await nonRotating(16)
      await refreshTokens(client, 'rt-c')
      vi.setSystemTime(Date.now() + 9000) // 9 s of 16, still inside the grace window
      // A 5 s margin: due at 11 s, so the kept set is shared.
      await refreshTokens(client, 'rt-c', { margin: 5 })
      expect(tokenCalls(as)).toBe(1)
      // The default margin, capped at 8 s (half the life): due at 8 s, so the call reaches the AS.
      await refreshTokens(client, 'rt-c')
      expect(tokenCalls(as)).toBe(2)
    })

    it('sends a forced refresh to the AS even within the grace window', async () => {
      const { as, client } = await nonRotating(300)
      await refreshTokens(client, 'rt-f')
      await refreshTokens(client, 'rt-f')
      expect(tokenCalls(as)).toBe(1)
      const forced = await refreshTokens(client, 'rt-f', { force: true })
      expect(tokenCalls(as)).toBe(2)
      expect(forced.tokens.access_token).toBe('at-2')
      // The forced result is the one kept for latecomers now.
      expect((await refreshTokens(client, 'rt-f')).tokens.access_token).toBe('at-2')
      expect(tokenCalls(as)).toBe(2)
    })

    it('lets a forced call join a refresh of the same token still under way', async () => {
      const { as, client } = await setupFakeAs()
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      as.token = async () => {
        await gate
        return json({ access_token: 'at-x', token_type: 'Bearer', expires_in: 300 })
      }
      const running = refreshTokens(client, 'rt-j')
      const forced = refreshTokens(client, 'rt-j', { force: true })
      release()
      await Promise.all([running, forced])
      expect(tokenCalls(as)).toBe(1)
    })

    it('refuses a bad "force" or "margin"', async () => {
      const { client } = await setupFakeAs()
      await expect(
        refreshTokens(client, 'rt', { force: 'yes' as unknown as boolean }),
      ).rejects.toThrow('"force" must be a boolean')
      await expect(refreshTokens(client, 'rt', { margin: -1 })).rejects.toThrow(
        '"margin" must be a non-negative number',
      )
    })
  })
})
