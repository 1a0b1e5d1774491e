// afterCallback: enrich the user at login (kept across refreshes) or refuse the login (403, no
// session), against the real local AS through a real Express app.
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { AuthError, claimIncludes, type AfterCallbackInput } from '@codegrant/express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, authOf, startTestApp, type TestApp } from './express-harness.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs({ idTokenProfileClaims: false })
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

const routes: Parameters<typeof startTestApp>[0]['routes'] = (a) => {
  a.get('/admin', claimIncludes('roles', 'admin'), (_req, res) => void res.send('admin'))
  a.post('/refresh', async (req, res, next) => {
    try {
      await authOf(req).getAccessToken({ forceRefresh: true })
      res.json({ ok: true })
    } catch (err) {
      next(err)
    }
  })
}

/** Every session in the app's store, as JSON. */
function storeDump(app: TestApp): Promise<string> {
  return new Promise((resolve, reject) =>
    app.store.all!((err, all) => (err ? reject(err) : resolve(JSON.stringify(all ?? {})))),
  )
}

describe('afterCallback', () => {
  it('gets the ID token claims and the tokens; its claims join the user and the guards', async () => {
    const seen: AfterCallbackInput[] = []
    const afterCallback = (input: AfterCallbackInput) => {
      seen.push(input)
      return { roles: ['admin'], name: 'Ada (from the app)' }
    }
    await withApp({ routes, auth: { afterCallback } }, async (app) => {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.claims).toMatchObject({ sub: 'demo-user-1', iss: as.issuer })
      expect(seen[0]!.tokens.access_token).toEqual(expect.any(String))
      expect(seen[0]!.userInfo).toBeUndefined()
      const { body } = await agent.json('/me')
      expect(body.claims).toMatchObject({
        sub: 'demo-user-1',
        roles: ['admin'],
        name: 'Ada (from the app)',
      })
      expect(body.idTokenClaims.roles).toEqual(['admin'])
      expect((await agent.request('/admin')).status).toBe(200)
    })
  })

  it('keeps its claims after a refresh brings a new ID token', async () => {
    const afterCallback = () => ({ roles: ['admin'] })
    await withApp({ routes, auth: { afterCallback } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const before = (await agent.json('/me')).body.idTokenClaims
      as.resetCounts()
      expect((await agent.request('/refresh', { method: 'POST' })).status).toBe(200)
      expect(as.grantCount('refresh_token')).toBe(1)
      const after = (await agent.json('/me')).body
      expect(after.claims.roles).toEqual(['admin'])
      expect(after.idTokenClaims.iat).toBeGreaterThanOrEqual(before.iat)
    })
  })

  it('gets the UserInfo response when fetchUserInfoAtLogin fetched it', async () => {
    let userInfo: AfterCallbackInput['userInfo']
    const afterCallback = (input: AfterCallbackInput) => {
      userInfo = input.userInfo
    }
    await withApp({ auth: { afterCallback, fetchUserInfoAtLogin: true } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      expect(userInfo).toMatchObject({ sub: 'demo-user-1', name: 'Demo User' })
      expect((await agent.json('/me')).body.claims.name).toBe('Demo User')
    })
  })

  it('refuses the login when it throws: 403 ERR_LOGIN_REFUSED, nothing echoed, no session', async () => {
    const afterCallback = async () => {
      throw new Error('user demo-user-1 is suspended (internal detail)')
    }
    await withApp({ auth: { afterCallback } }, async (app) => {
      const agent = new Agent(app.url)
      const callback = await agent.login()
      expect(callback.status).toBe(403)
      expect(callback.headers.get('cache-control')).toBe('no-store')
      const body = (await callback.json()) as { code: string; message: string }
      expect(body).toEqual({
        code: 'ERR_LOGIN_REFUSED',
        message: 'Login refused by the application',
      })
      expect((await agent.json('/me')).status).toBe(401)
      expect(await storeDump(app)).not.toMatch(/"user":/)
    })
  })

  it("passes the hook's own AuthError on as it is", async () => {
    const afterCallback = () => {
      throw new AuthError('ERR_STORE_UNAVAILABLE', 'The user database is unavailable')
    }
    await withApp({ auth: { afterCallback } }, async (app) => {
      const callback = await new Agent(app.url).login()
      expect(callback.status).toBe(503)
      expect(((await callback.json()) as { code: string }).code).toBe('ERR_STORE_UNAVAILABLE')
    })
  })

  it('fails closed (500 ERR_CONFIG_INVALID, no session) on claims it may not keep', async () => {
    const cases: Array<[unknown, string]> = [
      [{ sub: 'someone-else' }, 'may not set the protocol claim "sub"'],
      [{ acr: 'mfa' }, 'may not set the protocol claim "acr"'],
      [['admin'], 'must return a plain object of claims, or nothing'],
      [{ blob: 'x'.repeat(20_000) }, 'returned more than 16384 bytes of claims'],
      [{ big: 1n }, 'must return JSON values'],
    ]
    for (const [returned, message] of cases) {
      const afterCallback = () => returned as Record<string, unknown>
      await withApp({ auth: { afterCallback } }, async (app) => {
        const agent = new Agent(app.url)
        const callback = await agent.login()
        expect(callback.status).toBe(500)
        const body = (await callback.json()) as { code: string; message: string }
        expect(body.code).toBe('ERR_CONFIG_INVALID')
        expect(body.message).toContain(message)
        expect((await agent.json('/me')).status).toBe(401)
        expect(await storeDump(app)).not.toMatch(/"user":/)
      })
    }
  })

  it('refuses an "afterCallback" that is not a function', async () => {
    await expect(
      withApp({ auth: { afterCallback: 'no' as unknown as () => undefined } }, async () => {}),
    ).rejects.toThrow('auth(): "afterCallback" must be a function')
  })
})
