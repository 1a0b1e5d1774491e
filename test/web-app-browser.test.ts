import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebApp, WEB_APPS, type SpawnedApp } from './web-app-harness.js'
import { webAppEnv } from './support/local-as.js'
import { launchChromium } from './support/browser.js'

describe.each(WEB_APPS)('examples/$name in Chromium', (kind) => {
  let as: LocalAs
  let web: SpawnedApp
  let browser: Browser

  beforeAll(async () => {
    as = await startLocalAs()
    web = await startWebApp(
      {
        ...webAppEnv(as),
        SESSION_SECRET: 'browser-test-session-secret-0123456789abcdef',
      },
      kind,
    )
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await web?.stop()
    await as?.close()
  })

  describe('login to logout', () => {
    it('logs in through the AS pages, shows the profile, refreshes the token and logs out', async () => {
      const context = await browser.newContext()
      const page = await context.newPage()
      try {
        await page.goto(`${web.url}/profile`)
        // Redirected to the AS login page.
        await page.waitForSelector('#username')
        expect(page.url().startsWith(as.issuer)).toBe(true)
        await page.fill('#username', 'demo')
        await page.fill('#password', 'demo')
        await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#sign-in')])
        const consent = await page.waitForSelector('#allow, #claims', { timeout: 10_000 })
        if ((await consent.getAttribute('id')) === 'allow') {
          await Promise.all([page.waitForURL(`${web.url}/profile`), page.click('#allow')])
        }
        await page.waitForSelector('#claims')
        expect(page.url()).toBe(`${web.url}/profile`)
        expect(await page.textContent('#claims')).toContain('demo-user-1')
        const cookies = await context.cookies(web.url)
        const sessionCookie = cookies.find((c) => c.name === kind.cookieName)
        expect(sessionCookie?.httpOnly).toBe(true)
        expect(sessionCookie?.sameSite).toBe('Lax')

        // The token panel's button refreshes the access token (POST with the CSRF token).
        const before = await page.textContent('#token-expiry')
        as.resetCounts()
        await Promise.all([page.waitForURL(`${web.url}/profile`), page.click('#refresh-token')])
        await page.waitForSelector('#token-expiry')
        expect(as.grantCount('refresh_token')).toBe(1)
        expect(before).toBeTruthy()

        // Logout: the AS's end-session page confirms itself (id_token_hint) and comes back home.
        await page.click('header form button')
        // Home, with the `state` the logout request carried.
        await page.waitForURL(
          (url) =>
            `${url.origin}${url.pathname}` === `${web.url}/` && url.searchParams.has('state'),
          { timeout: 10_000 },
        )
        expect(await page.textContent('body')).toContain('Welcome')
        const me = await page.goto(`${web.url}/me`)
        expect(me?.status()).toBe(401)
      } finally {
        await context.close()
      }
    })
  })
})
