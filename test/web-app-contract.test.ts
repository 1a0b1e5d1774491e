import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  completeLogout,
  localClientPrivateJwk,
  localClientPrivatePem,
  localClients,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import express from 'express'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, sleep } from './express-harness.js'
import {
  runWebAppExpectingExit,
  startWebApp,
  WEB_APPS,
  type SpawnedApp,
} from './web-app-harness.js'
import { webAppEnv } from './support/local-as.js'

describe.each(WEB_APPS)('examples/$name', (kind) => {
  let as: LocalAs
  let api: Server
  let apiUrl: string
  let web: SpawnedApp
  const apiCalls: string[] = []

  beforeAll(async () => {
    as = await startLocalAs({ ttl: { AccessToken: 2 } })
    // A stand-in for examples/api: reports what it received, never the token itself.
    const apiApp = express()
    apiApp.get('/api/private', (req, res) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      if (token === undefined) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' })
        return
      }
      apiCalls.push(token)
      const claims = decodeJwt(token)
      res.json({ sub: claims.sub, aud: claims.aud, scope: claims.scope, exp: claims.exp })
    })
    api = await new Promise<Server>((resolve) => {
      const s = apiApp.listen(0, '127.0.0.1', () => resolve(s))
    })
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
    web = await startWebApp(
      {
        ...webAppEnv(as),
        API_URL: apiUrl,
        API_AUDIENCE: 'urn:codegrant:api',
        SESSION_SECRET: 'contract-test-session-secret-0123456789abcdef',
      },
      kind,
    )
  })
  afterAll(async () => {
    await web?.stop()
    await new Promise((resolve) => api?.close(resolve))
    await as?.close()
  })

  describe('contract', () => {
    it('prints a listening line with its URL', () => {
      expect(web.output()).toMatch(new RegExp(`listening.*${web.url.replace(/[.:/]/g, '\\$&')}`))
    })

    it('GET / is public', async () => {
      const res = await new Agent(web.url, kind.cookieName).request('/')
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('Log in')
    })

    it('GET /login redirects to the AS with code, state, nonce and PKCE S256', async () => {
      const url = await new Agent(web.url, kind.cookieName).startLogin('/profile')
      expect(url.href.startsWith(as.issuer)).toBe(true)
      expect(url.searchParams.get('response_type')).toBe('code')
      expect(url.searchParams.get('state')).toBeTruthy()
      expect(url.searchParams.get('nonce')).toBeTruthy()
      expect(url.searchParams.get('code_challenge')).toBeTruthy()
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(url.searchParams.get('redirect_uri')).toBe(`${web.url}/callback`)
    })

    it('unauthenticated: /me 401 JSON, /profile 302 to /login?returnTo=%2Fprofile', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      const me = await agent.json('/me')
      expect(me.status).toBe(401)
      const profile = await agent.request('/profile')
      expect(profile.status).toBe(302)
      expect(profile.location).toBe('/login?returnTo=%2Fprofile')
    })

    it('login: new session id, cookie flags, 302 to returnTo, /me and /profile without tokens', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      const authUrl = await agent.startLogin('/profile')
      const before = agent.sessionCookie()
      const callback = await agent.finishLogin(authUrl)
      expect(callback.status).toBe(302)
      expect(callback.location).toBe('/profile')
      const setCookie = callback.headers.get('set-cookie') ?? ''
      expect(setCookie).toMatch(/HttpOnly/i)
      expect(setCookie).toMatch(/SameSite=Lax/i)
      expect(setCookie).not.toMatch(/Secure/i)
      expect(agent.sessionCookie()).not.toBe(before)
      const me = await agent.json('/me')
      expect(me.status).toBe(200)
      expect(me.body.sub).toBe('demo-user-1')
      expect(me.body.claims.sub).toBe('demo-user-1')
      expect(JSON.stringify(me.body)).not.toMatch(/eyJ|_token/)
      const profile = await agent.request('/profile')
      expect(profile.status).toBe(200)
      const html = await profile.text()
      expect(html).toContain('demo-user-1')
      expect(html).not.toMatch(/eyJhbGci/)
    })

    it('returnTo only for same-origin relative paths', async () => {
      for (const evil of ['//evil.example', 'https://evil.example/x', '/\\evil.example']) {
        const agent = new Agent(web.url, kind.cookieName)
        const callback = await agent.login(evil)
        expect(callback.status).toBe(302)
        expect(callback.location).toBe('/')
      }
    })

    it('a failed callback is a 4xx with a clear message, no session, no token', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      const res = await agent.request('/callback?code=abc&state=forged')
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
      const html = await res.text()
      expect(html).toContain('Login failed')
      expect(html).not.toContain('abc&')
      expect((await agent.json('/me')).status).toBe(401)
      const denied = new Agent(web.url, kind.cookieName)
      const res2 = await denied.finishLogin(await denied.startLogin(), 'deny')
      expect(res2.status).toBe(403)
      expect((await denied.json('/me')).status).toBe(401)
    })

    it('/api-data calls the API with an access token for API_AUDIENCE, refreshed when it expires', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      await agent.login()
      const first = await agent.json('/api-data')
      expect(first.status).toBe(200)
      expect(first.body.sub).toBe('demo-user-1')
      expect(first.body.aud).toContain('urn:codegrant:api')
      as.resetCounts()
      await sleep(1300)
      const second = await agent.json('/api-data')
      expect(second.status).toBe(200)
      expect(as.grantCount('refresh_token')).toBe(1)
      expect(second.body.exp).toBeGreaterThan(first.body.exp)
    })

    it('/logout destroys the session and redirects to end_session with id_token_hint', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      await agent.login()
      const res = await agent.request('/logout')
      expect(res.status).toBe(302)
      const location = new URL(res.location ?? '')
      expect(location.href.startsWith(as.issuer)).toBe(true)
      expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/)
      expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${web.url}/`)
      expect((await agent.json('/me')).status).toBe(401)
      const back = await completeLogout(location, { cookieJar: agent.asJar })
      // Back on the app's post-logout page, with the `state` the logout request sent (Glewlwyd
      // redirects only when there is one).
      const state = location.searchParams.get('state')
      expect(state).toMatch(/^[\w-]{22}$/)
      expect(back.url.href).toBe(`${web.url}/?state=${state}`)
    })

    it('the refresh button needs the CSRF token', async () => {
      const agent = new Agent(web.url, kind.cookieName)
      await agent.login()
      const forged = await agent.request('/refresh-token', {
        method: 'POST',
        body: new URLSearchParams({ csrf: 'x' }),
      })
      expect(forged.status).toBe(403)
      const html = await (await agent.request('/profile')).text()
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1]
      expect(csrf).toBeDefined()
      as.resetCounts()
      const ok = await agent.request('/refresh-token', {
        method: 'POST',
        body: new URLSearchParams({ csrf: csrf! }),
      })
      expect(ok.status).toBe(303)
      expect(as.grantCount('refresh_token')).toBe(1)
    })
  })

  describe('start-up errors', () => {
    it('a missing ISSUER_URL stops the app with a one-line message naming it', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          CLIENT_ID: 'x',
          CLIENT_SECRET: 'y',
          PORT: '0',
        },
        kind,
      )
      expect(code).not.toBe(0)
      const lines = stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('ISSUER_URL')
    })

    it('a plain-http issuer that is not loopback is refused, naming ISSUER_URL', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          ISSUER_URL: 'http://idp.example.com',
          CLIENT_ID: 'x',
          CLIENT_SECRET: 'y',
          PORT: '0',
        },
        kind,
      )
      expect(code).not.toBe(0)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toContain('ISSUER_URL')
    })

    it('refuses to start without SESSION_SECRET when NODE_ENV=production, naming it', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          ISSUER_URL: 'https://idp.example.com',
          CLIENT_ID: 'x',
          CLIENT_SECRET: 'y',
          NODE_ENV: 'production',
          PORT: '0',
        },
        kind,
      )
      expect(code).not.toBe(0)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toContain('SESSION_SECRET')
    })

    it('a missing CLIENT_ID is named', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          ISSUER_URL: 'https://idp.example.com',
          PORT: '0',
        },
        kind,
      )
      expect(code).not.toBe(0)
      expect(stderr).toContain('CLIENT_ID')
    })
  })

  describe('client authentication methods', () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-app-keys-'))
    const jwkFile = join(dir, 'key.json')
    const pemFile = join(dir, 'key.pem')
    writeFileSync(jwkFile, JSON.stringify(localClientPrivateJwk))
    writeFileSync(pemFile, localClientPrivatePem)
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    const cases: Array<[string, Record<string, string>]> = [
      [
        'client_secret_post',
        {
          CLIENT_ID: localClients.webPost.clientId,
          CLIENT_SECRET: localClients.webPost.clientSecret!,
        },
      ],
      [
        'client_secret_jwt',
        {
          CLIENT_ID: localClients.webJwt.clientId,
          CLIENT_SECRET: localClients.webJwt.clientSecret!,
        },
      ],
      [
        'private_key_jwt',
        { CLIENT_ID: localClients.webPkjwt.clientId, CLIENT_PRIVATE_KEY: jwkFile },
      ],
      [
        'private_key_jwt',
        { CLIENT_ID: localClients.webPkjwt.clientId, CLIENT_PRIVATE_KEY: pemFile },
      ],
      ['none', { CLIENT_ID: localClients.publicClient.clientId }],
    ]
    it.each([
      ['client_secret_jwt', 'issuer'],
      ['client_secret_jwt', 'token_endpoint'],
      ['private_key_jwt', 'token_endpoint'],
    ])(
      'signs the %s client assertion for CLIENT_ASSERTION_AUDIENCE=%s',
      async (method, audience) => {
        const vars: Record<string, string> =
          method === 'client_secret_jwt'
            ? {
                CLIENT_ID: localClients.webJwt.clientId,
                CLIENT_SECRET: localClients.webJwt.clientSecret!,
              }
            : { CLIENT_ID: localClients.webPkjwt.clientId, CLIENT_PRIVATE_KEY: jwkFile }
        const app = await startWebApp(
          {
            ISSUER_URL: as.issuer,
            CLIENT_AUTH_METHOD: method,
            CLIENT_ASSERTION_AUDIENCE: audience,
            ...vars,
          },
          kind,
        )
        try {
          as.resetCounts()
          expect((await new Agent(app.url, kind.cookieName).login()).status).toBe(302)
          const grant = as.events.find(
            (e) => e.name === 'grant.success' && e.grantType === 'authorization_code',
          )
          const expected = audience === 'issuer' ? as.issuer : `${as.issuer}/token`
          expect([grant?.clientAssertionAudience].flat()).toEqual([expected])
        } finally {
          await app.stop()
        }
      },
    )

    it('refuses an unknown CLIENT_ASSERTION_AUDIENCE at start, naming it', async () => {
      const { code, stderr } = await runWebAppExpectingExit(
        {
          ISSUER_URL: as.issuer,
          CLIENT_ID: 'x',
          CLIENT_SECRET: 'y',
          CLIENT_ASSERTION_AUDIENCE: 'token-endpoint',
          PORT: '0',
        },
        kind,
      )
      expect(code).not.toBe(0)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toContain('CLIENT_ASSERTION_AUDIENCE')
    })

    it.each(cases)('logs in with %s', async (method, vars) => {
      const app = await startWebApp(
        { ISSUER_URL: as.issuer, CLIENT_AUTH_METHOD: method, ...vars },
        kind,
      )
      try {
        const agent = new Agent(app.url, kind.cookieName)
        const callback = await agent.login()
        expect(callback.status).toBe(302)
        expect((await agent.json('/me')).body.sub).toBe('demo-user-1')
      } finally {
        await app.stop()
      }
    })
  })
})
