// CONTRACT: "Session cookie: HttpOnly, SameSite=Lax, Secure when BASE_URL is https."
// The app sits behind a TLS-terminating proxy there; the proxy says so with X-Forwarded-Proto.
import { startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webAppEnv } from './support/local-as.js'
import { startWebApp, WEB_APPS, type SpawnedApp } from './web-app-harness.js'

describe.each(WEB_APPS)('examples/$name on https', (kind) => {
  let as: LocalAs
  let web: SpawnedApp

  beforeAll(async () => {
    as = await startLocalAs()
    web = await startWebApp({ ...webAppEnv(as), BASE_URL: 'https://app.codegrant.test' }, kind)
  })
  afterAll(async () => {
    await web?.stop()
    await as?.close()
  })

  it('sets a Secure, HttpOnly, SameSite=Lax session cookie when BASE_URL is https', async () => {
    const res = await fetch(`http://127.0.0.1:${web.port}/login?returnTo=%2Fprofile`, {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https', host: 'app.codegrant.test' },
    })
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location') ?? '')
    expect(location.searchParams.get('redirect_uri')).toBe('https://app.codegrant.test/callback')
    const setCookie = res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/;\s*Secure/i)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    // __Host-: Secure, Path=/ and no Domain, so no subdomain or plain-http page can plant or shadow it.
    expect(setCookie).toMatch(/^__Host-/)
    expect(setCookie).toMatch(/;\s*Path=\/(;|$)/i)
    expect(setCookie).not.toMatch(/Domain=/i)
  })
})
