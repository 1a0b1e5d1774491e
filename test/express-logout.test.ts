import { completeLogout, startLocalAs, type LocalAs } from '@codegrant/local-as'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, sleep, startTestApp, type TestApp } from './express-harness.js'
import { addBackchannelClient } from './support/local-as.js'

let as: LocalAs
let app: TestApp
const logoutTokens: string[] = []

beforeAll(async () => {
  as = await startLocalAs()
  app = await startTestApp({
    as,
    clientId: 'web-backchannel',
    clientSecret: 'web-backchannel-secret-for-local-tests-only',
    before: (a) => {
      // Records the logout tokens the AS sends, to replay one.
      a.post('/backchannel-logout', express.urlencoded({ extended: false }), (req, _res, next) => {
        if (typeof req.body?.logout_token === 'string') logoutTokens.push(req.body.logout_token)
        next()
      })
    },
  })
  await addBackchannelClient(as, {
    clientId: 'web-backchannel',
    clientSecret: 'web-backchannel-secret-for-local-tests-only',
    backchannelLogoutUri: `${app.url}/backchannel-logout`,
  })
})
afterAll(async () => {
  await app?.close()
  await as?.close()
})

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached')
    await sleep(50)
  }
}

describe('logout', () => {
  it('revokes the refresh token, destroys the session and redirects to end_session', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    as.resetCounts()
    const res = await agent.request('/logout')
    expect(res.status).toBe(302)
    const location = new URL(res.location ?? '')
    expect(`${location.origin}${location.pathname}`).toBe(`${as.issuer}/session/end`)
    expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/)
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${app.url}/`)
    expect(as.events.some((e) => e.name === 'grant.revoked')).toBe(true)
    expect((await agent.json('/me')).status).toBe(401)
    // The AS accepts the hint and sends the browser back to the app.
    const back = await completeLogout(location, { cookieJar: agent.asJar })
    // Back on the app's post-logout page, with the `state` the logout request sent (Glewlwyd
    // redirects only when there is one).
    const state = location.searchParams.get('state')
    expect(state).toMatch(/^[\w-]{22}$/)
    expect(back.url.href).toBe(`${app.url}/?state=${state}`)
  })

  it('POST /logout works too; without a session it redirects to /', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    const res = await agent.request('/logout', { method: 'POST' })
    expect(res.status).toBe(302)
    expect(res.location).toContain('/session/end')
    const again = await agent.request('/logout', { method: 'POST' })
    expect(again.status).toBe(302)
    expect(again.location).toBe('/')
  })

  it('back-channel logout destroys the session; a replayed logout token is refused', async () => {
    const agent = new Agent(app.url)
    await agent.login()
    expect((await agent.json('/me')).status).toBe(200)
    const other = new Agent(app.url)
    await other.login()
    // Logout at the AS (not through the app): the AS calls the app's back-channel endpoint.
    logoutTokens.length = 0
    await completeLogout(`${as.issuer}/session/end`, { cookieJar: agent.asJar })
    await until(async () => (await agent.json('/me')).status === 401)
    expect(as.events.some((e) => e.name === 'backchannel.success')).toBe(true)
    // Another user agent's session (another AS session, another sid) is untouched.
    expect((await other.json('/me')).status).toBe(200)

    expect(logoutTokens.length).toBeGreaterThan(0)
    const replay = await fetch(`${app.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutTokens[0]! }).toString(),
    })
    expect(replay.status).toBe(400)
    expect((await replay.json()).error).toBe('invalid_request')
  })

  it('refuses an invalid logout token with 400', async () => {
    for (const body of ['logout_token=not-a-jwt', '']) {
      const res = await fetch(`${app.url}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      expect(res.status).toBe(400)
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
  })
})
