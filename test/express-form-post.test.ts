import { completeLogin, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, startTestApp, type TestApp } from './express-harness.js'
import { launchChromium } from './support/browser.js'

let as: LocalAs
let app: TestApp

beforeAll(async () => {
  as = await startLocalAs()
  app = await startTestApp({ as, auth: { responseMode: 'form_post' } })
})
afterAll(async () => {
  await app?.close()
  await as?.close()
})

function hiddenFields(html: string): URLSearchParams {
  const fields = new URLSearchParams()
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(match[1]!, match[2]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"'))
  }
  return fields
}

describe('response_mode=form_post', () => {
  it('completes a login posted to the callback', async () => {
    const agent = new Agent(app.url)
    const url = await agent.startLogin('/after')
    expect(url.searchParams.get('response_mode')).toBe('form_post')
    const callback = await agent.finishLogin(url)
    expect(callback.status).toBe(302)
    expect(callback.location).toBe('/after')
    expect((await agent.json('/me')).status).toBe(200)
  })

  it('a cross-site post without the SameSite=Lax cookie is re-posted from our origin, then completes', async () => {
    const agent = new Agent(app.url)
    const response = await completeLogin(await agent.startLogin('/after'), {
      cookieJar: agent.asJar,
    })
    expect(response.method).toBe('POST')
    if (response.method !== 'POST') return
    // What the browser sends cross-site: the form, without the session cookie.
    const first = await fetch(response.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'cross-site',
      },
      body: response.body.toString(),
      redirect: 'manual',
    })
    expect(first.status).toBe(200)
    expect(first.headers.get('set-cookie')).toBeNull()
    expect(first.headers.get('cache-control')).toBe('no-store')
    expect(first.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/)
    const fields = hiddenFields(await first.text())
    expect(fields.get('state')).toBe(response.body.get('state'))
    expect(fields.get('codegrant_resubmit')).toBe('1')
    // The page posts it again from our origin: now with the cookie.
    const second = await agent.request('/callback', { method: 'POST', body: fields })
    expect(second.status).toBe(302)
    expect(second.location).toBe('/after')
    expect((await agent.json('/me')).status).toBe(200)
  })

  it('a re-posted form that still finds no login is refused (no loop)', async () => {
    const res = await fetch(`${app.url}/callback`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'sec-fetch-site': 'cross-site',
      },
      body: 'code=x&state=y&codegrant_resubmit=1',
    })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('ERR_SESSION_COOKIE_MISSING')
    // Not a cross-site browser post (no Sec-Fetch-Site): refused at once.
    const direct = await fetch(`${app.url}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'code=x&state=y',
    })
    expect(direct.status).toBe(400)
  })
})

describe('response_mode=form_post in Chromium (AS and app on different sites)', () => {
  it('logs in although the SameSite=Lax cookie is not sent with the cross-site post', async () => {
    // The app is http://localhost:<port>, the AS http://127.0.0.1:<port>: different sites.
    const siteApp = await startTestApp({
      as,
      auth: { responseMode: 'form_post' },
      publicHost: 'localhost',
    })
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(`${siteApp.url}/profile`)
      await page.waitForSelector('#username')
      await page.fill('#username', 'demo')
      await page.fill('#password', 'demo')
      await page.click('#sign-in')
      await page.waitForSelector('#allow', { timeout: 10_000 })
      await page.click('#allow')
      await page.waitForURL(`${siteApp.url}/profile`, { timeout: 10_000 })
      expect(await page.textContent('body')).toContain('profile of demo-user-1')
    } finally {
      await browser.close()
      await siteApp.close()
    }
  })
})
