// fetchUserInfoAtLogin against an AS that keeps profile claims to UserInfo (as LemonLDAP::NG and
// OpenID Connect Core 5.4 do), the UserInfo errors of req.auth.fetchUserInfo(), and a refused
// client authentication at the callback.
import { revokeToken } from '@codegrant/core'
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, authOf, startTestApp, type TestApp } from './express-harness.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs({ idTokenProfileClaims: false, ttl: { AccessToken: 60 } })
})
afterAll(async () => {
  await as?.close()
})

async function withApp<T>(
  options: Omit<Parameters<typeof startTestApp>[0], 'as'>,
  run: (app: TestApp) => Promise<T>,
): Promise<T> {
  const app = await startTestApp({ as, ...options })
  try {
    return await run(app)
  } finally {
    await app.close()
  }
}

describe('fetchUserInfoAtLogin', () => {
  it('keeps the ID token claims alone when off (the AS gives name and email only at UserInfo)', async () => {
    await withApp({}, async (app) => {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      const { body } = await agent.json('/me')
      expect(body.sub).toBe('demo-user-1')
      expect(body.claims.name).toBeUndefined()
      expect(body.claims.email).toBeUndefined()
    })
  })

  it('completes the user from UserInfo at login, without a UserInfo request afterwards', async () => {
    await withApp({ auth: { fetchUserInfoAtLogin: true } }, async (app) => {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      const first = await agent.json('/me')
      expect(first.body.claims).toMatchObject({
        sub: 'demo-user-1',
        name: 'Demo User',
        email: 'demo@example.com',
      })
      // The protocol claims are still the ID token's.
      expect(first.body.idTokenClaims.iss).toBe(as.issuer)
      expect(first.body.idTokenClaims.aud).toBe('web-basic')
      expect(typeof first.body.idTokenClaims.nonce).toBe('string')
      expect((await agent.json('/me')).body).toEqual(first.body)
    })
  })

  it('keeps the UserInfo claims after a refresh brings a new ID token', async () => {
    const routes: Parameters<typeof startTestApp>[0]['routes'] = (a) => {
      a.post('/refresh', async (req, res, next) => {
        try {
          await authOf(req).getAccessToken({ forceRefresh: true })
          res.json({ ok: true })
        } catch (err) {
          next(err)
        }
      })
    }
    await withApp({ routes, auth: { fetchUserInfoAtLogin: true } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const before = (await agent.json('/me')).body.idTokenClaims
      as.resetCounts()
      expect((await agent.request('/refresh', { method: 'POST' })).status).toBe(200)
      expect(as.grantCount('refresh_token')).toBe(1)
      const after = (await agent.json('/me')).body.idTokenClaims
      expect(after).toMatchObject({ name: 'Demo User', email: 'demo@example.com' })
      // A new ID token came with the refresh: its claims, not the login's, are the user's.
      expect(after.iat).toBeGreaterThanOrEqual(before.iat)
    })
  })

  it('fetches nothing when the ID token already has the claims of the scope', async () => {
    const full = await startLocalAs()
    let userinfoCalls = 0
    const counting: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (url.endsWith('/me')) userinfoCalls++
      return fetch(input, init)
    }
    const app = await startTestApp({
      as: full,
      fetch: counting,
      auth: { fetchUserInfoAtLogin: true },
    })
    try {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      expect((await agent.json('/me')).body.claims.name).toBe('Demo User')
      expect(userinfoCalls).toBe(0)
    } finally {
      await app.close()
      await full.close()
    }
  })

  it('fails the login, with no session, when UserInfo refuses the access token', async () => {
    const refusing: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (url.startsWith(`${as.issuer}/me`)) {
        return Promise.resolve(
          new Response(null, {
            status: 401,
            headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
          }),
        )
      }
      return fetch(input, init)
    }
    await withApp({ fetch: refusing, auth: { fetchUserInfoAtLogin: true } }, async (app) => {
      const agent = new Agent(app.url)
      const callback = await agent.login()
      expect(callback.status).toBe(400)
      const body = (await callback.json()) as { code: string; message: string }
      expect(body.code).toBe('ERR_LOGIN_FAILED')
      expect(body.message).toBe('Login failed: the UserInfo endpoint refused the access token')
      expect((await agent.json('/me')).status).toBe(401)
    })
  })

  it('refuses "fetchUserInfoAtLogin" that is not a boolean', async () => {
    await expect(
      withApp({ auth: { fetchUserInfoAtLogin: 'yes' as unknown as boolean } }, async () => {}),
    ).rejects.toThrow('"fetchUserInfoAtLogin" must be a boolean')
  })
})

describe('req.auth.fetchUserInfo()', () => {
  it('a UserInfo 4xx (revoked access token) is ERR_USERINFO_REFUSED (401), not an unreachable AS', async () => {
    await withApp(
      {
        routes: (a) => {
          a.get('/userinfo', async (req, res, next) => {
            try {
              res.json(await authOf(req).fetchUserInfo())
            } catch (err) {
              next(err)
            }
          })
        },
      },
      async (app) => {
        const agent = new Agent(app.url)
        await agent.login()
        expect((await agent.json('/userinfo')).body).toMatchObject({ email: 'demo@example.com' })
        const { access_token } = (await agent.json('/token')).body as { access_token: string }
        await revokeToken(await app.client(), access_token, 'access_token')
        const refused = await agent.json('/userinfo')
        expect(refused.status).toBe(401)
        expect(refused.body.code).toBe('ERR_USERINFO_REFUSED')
        expect(JSON.stringify(refused.body)).not.toContain(access_token)
      },
    )
  })
})

describe('a refused client authentication at the callback', () => {
  it('is ERR_CLIENT_AUTH_REFUSED (500), naming what to check and no secret', async () => {
    const secret = 'a-wrong-secret-that-must-never-be-echoed'
    await withApp({ clientSecret: secret }, async (app) => {
      const agent = new Agent(app.url)
      const callback = await agent.login()
      expect(callback.status).toBe(500)
      const body = (await callback.json()) as { code: string; message: string }
      expect(body.code).toBe('ERR_CLIENT_AUTH_REFUSED')
      expect(body.message).toMatch(/^Login failed: .*refused the client authentication/)
      expect(body.message).toMatch(/secret/)
      expect(body.message).not.toContain(secret)
      expect((await agent.json('/me')).status).toBe(401)
    })
  })
})
