// One Express app with both packages on the same request: the login state of @codegrant/express
// (`req.auth`, typed by its opt-in `@codegrant/express/global`) and the bearer token of
// @codegrant/resource-server/express (`req.accessToken`), at run time and for TypeScript, which
// refused the two augmentations with TS2717 while both were named `auth`.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type {} from '@codegrant/express/global'
import { defaultAudience, demoUser, startLocalAs, type LocalAs } from '@codegrant/local-as'
import type { AuthInfo } from '@codegrant/resource-server'
import { tokenErrorHandler, requireToken } from '@codegrant/resource-server/express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, startTestApp, type TestApp } from './express-harness.js'
import { getAccessToken } from './resource-server-helpers.js'

let as: LocalAs
let app: TestApp

beforeAll(async () => {
  as = await startLocalAs()
  app = await startTestApp({
    as,
    routes: (a) => {
      a.get(
        '/api/both',
        requireToken({ issuer: as.issuer, audience: defaultAudience }),
        (req, res) => {
          // Both typed, each by its own package: no cast.
          const loggedIn: boolean = req.auth?.isAuthenticated ?? false
          const sessionSub: string | undefined = req.auth?.user?.sub as string | undefined
          const token: AuthInfo | undefined = req.accessToken
          res.json({ loggedIn, sessionSub, bearerSub: token?.sub, format: token?.format })
        },
      )
      a.use('/api', tokenErrorHandler())
    },
  })
})
afterAll(async () => {
  await app?.close()
  await as?.close()
})

const root = fileURLToPath(new URL('..', import.meta.url))

describe('@codegrant/express and @codegrant/resource-server/express in one app', () => {
  it('type-checks with both augmentations and skipLibCheck off (no TS2717)', async () => {
    // test/types/both-express.ts against the built declarations (dist/, as `pnpm typecheck` makes).
    const output = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}test/types/tsconfig.json`],
        { timeout: 60_000 },
        (err, stdout, stderr) => resolve(`${err === null ? 'ok' : 'failed'}\n${stdout}${stderr}`),
      )
    })
    expect(output).toBe('ok\n')
  })

  it('sets req.auth (the session) and req.accessToken (the bearer token) side by side', async () => {
    const agent = new Agent(app.url)
    const token = await getAccessToken(as, { resource: defaultAudience })
    const anonymous = await agent.request('/api/both', {
      accept: 'application/json',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(anonymous.status).toBe(200)
    expect(await anonymous.json()).toEqual({
      loggedIn: false,
      bearerSub: demoUser.claims.sub,
      format: 'jwt',
    })

    expect((await agent.login('/')).status).toBe(302)
    const both = await agent.request('/api/both', {
      accept: 'application/json',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(await both.json()).toEqual({
      loggedIn: true,
      sessionSub: demoUser.claims.sub,
      bearerSub: demoUser.claims.sub,
      format: 'jwt',
    })
    // A session is no bearer token: the API still refuses a request without one.
    const sessionOnly = await agent.request('/api/both', { accept: 'application/json' })
    expect(sessionOnly.status).toBe(401)
    expect(sessionOnly.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })
})
