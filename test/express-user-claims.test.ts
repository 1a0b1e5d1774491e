// req.auth.user without the ID token's protocol claims (identityClaimFilter), the standard
// claims typed, and the full claim set in req.auth.idTokenClaims, which the claim checks read.
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { claimCheck, DEFAULT_IDENTITY_CLAIM_FILTER, type UserClaims } from '@codegrant/express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, authOf, startTestApp, type TestApp } from './express-harness.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs()
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

describe('req.auth.user', () => {
  it('holds who the user is, without the protocol claims, which stay in idTokenClaims', async () => {
    await withApp({}, async (app) => {
      const agent = new Agent(app.url)
      expect((await agent.login()).status).toBe(302)
      const { body } = await agent.json('/me')
      expect(body.claims).toMatchObject({
        sub: 'demo-user-1',
        name: 'Demo User',
        email: 'demo@example.com',
      })
      for (const name of DEFAULT_IDENTITY_CLAIM_FILTER) expect(body.claims).not.toHaveProperty(name)
      // What oidc-provider puts in every ID token is really there, and really filtered.
      expect(body.idTokenClaims).toMatchObject({
        sub: 'demo-user-1',
        iss: as.issuer,
        aud: 'web-basic',
        nonce: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
      })
      expect(body.idTokenClaims.name).toBe('Demo User')
    })
  })

  it('types the standard claims (email: string, email_verified: boolean, address: object)', async () => {
    const routes: Parameters<typeof startTestApp>[0]['routes'] = (a) => {
      a.get('/typed', (req, res) => {
        const user: UserClaims | undefined = authOf(req).user
        // Compile-time: these assignments fail to type-check if the claims are `unknown`.
        const email: string | undefined = user?.email
        const verified: boolean | undefined = user?.email_verified
        const updated: number | undefined = user?.updated_at
        const country: string | undefined = user?.address?.country
        res.json({ email, verified, updated, country, sub: user?.sub.length })
      })
    }
    await withApp({ routes }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const { body } = await agent.json('/typed')
      expect(body).toMatchObject({ email: 'demo@example.com', sub: 'demo-user-1'.length })
    })
  })

  it('claim checks still see the protocol claims (through idTokenClaims)', async () => {
    const routes: Parameters<typeof startTestApp>[0]['routes'] = (a) => {
      a.get(
        '/from-our-as',
        claimCheck((claims) => claims.iss === as.issuer && claims.aud === 'web-basic'),
        (_req, res) => void res.send('ok'),
      )
    }
    await withApp({ routes }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const res = await agent.request('/from-our-as')
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('ok')
    })
  })

  it('"identityClaimFilter" replaces the list of claims kept out of user', async () => {
    await withApp({ auth: { identityClaimFilter: ['email', 'email_verified'] } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const { body } = await agent.json('/me')
      expect(body.claims).not.toHaveProperty('email')
      expect(body.claims).toMatchObject({ sub: 'demo-user-1', iss: as.issuer, aud: 'web-basic' })
      expect(body.idTokenClaims.email).toBe('demo@example.com')
    })
    await withApp({ auth: { identityClaimFilter: [] } }, async (app) => {
      const agent = new Agent(app.url)
      await agent.login()
      const { body } = await agent.json('/me')
      expect(body.claims).toEqual(body.idTokenClaims)
    })
  })

  it('refuses an "identityClaimFilter" that filters sub or is not a list of names', async () => {
    await expect(
      withApp({ auth: { identityClaimFilter: ['sub'] } }, async () => {}),
    ).rejects.toThrow('auth(): "identityClaimFilter" may not contain "sub"')
    await expect(
      withApp({ auth: { identityClaimFilter: 'iss' as unknown as string[] } }, async () => {}),
    ).rejects.toThrow('auth(): "identityClaimFilter" must be an array of claim names')
  })
})
