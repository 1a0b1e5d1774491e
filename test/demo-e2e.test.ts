/**
 * `pnpm demo` end to end: the demo script (local AS + examples/api + examples/web-app) on free
 * ports, driven by Debian's Chromium through playwright-core. Log in on the local AS's pages,
 * see the profile and the API's data, watch a refresh happen, log out, stop with Ctrl-C.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { launchChromium } from './support/browser.js'
import { spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { freePort } from './support/ports.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const resultsDir = fileURLToPath(new URL('../test-results/', import.meta.url))
// Access tokens expire fast so that the web app must refresh during the test.
const accessTokenTtl = 3

interface Demo {
  child: Child
  output: string[]
  exited: Promise<number | null>
}

async function startDemo(env: Record<string, string>): Promise<Demo> {
  const child = spawnNode('scripts/demo.mjs', { ...process.env, ...env }, root)
  const output: string[] = []
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const onData = (chunk: Buffer) => output.push(chunk.toString())
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  try {
    await waitForOutput(child, /codegrant demo is ready/, 45_000)
  } catch (err) {
    await stopChild(child)
    throw err
  }
  return { child, output, exited }
}

async function portClosed(port: number): Promise<boolean> {
  try {
    await fetch(`http://localhost:${port}/`, { signal: AbortSignal.timeout(2000) })
    return false
  } catch {
    return true
  }
}

describe('pnpm demo', () => {
  let demo: Demo | undefined
  let browser: Browser | undefined
  let page: Page
  let ports: { as: number; api: number; web: number }
  let web: string

  beforeAll(async () => {
    ports = { as: await freePort(), api: await freePort(), web: await freePort() }
    web = `http://localhost:${ports.web}`
    demo = await startDemo({
      AS_PORT: String(ports.as),
      API_PORT: String(ports.api),
      WEB_PORT: String(ports.web),
      ACCESS_TOKEN_TTL: String(accessTokenTtl),
    })
    browser = await launchChromium()
    page = await browser.newPage()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    if (demo) await stopChild(demo.child)
  })

  function refreshCount(): number {
    return (demo?.output.join('') ?? '').split('grant_type=refresh_token').length - 1
  }

  function screenshotOnFailure(name: string) {
    onTestFailed(async () => {
      mkdirSync(resultsDir, { recursive: true })
      await page?.screenshot({ path: `${resultsDir}demo-e2e-${name}.png`, fullPage: true })
      console.error(`demo output:\n${demo?.output.join('') ?? ''}`)
    })
  }

  it('prints the URLs and the demo credentials', () => {
    const text = demo?.output.join('') ?? ''
    expect(text).toContain(`http://localhost:${ports.web}`)
    expect(text).toContain(`http://localhost:${ports.api}`)
    expect(text).toContain(`http://localhost:${ports.as}`)
    expect(text).toContain('"demo"')
  })

  it('logs in through the local AS pages and shows the profile', async () => {
    screenshotOnFailure('login')
    const home = await page.goto(`${web}/`)
    expect(home?.status()).toBe(200)

    await page.goto(`${web}/profile`)
    // Not logged in: /profile -> /login -> the AS login page.
    await page.waitForURL((url) => url.port === String(ports.as))
    await page.fill('#username', 'demo')
    await page.fill('#password', 'wrong')
    await page.click('button[type=submit]')
    expect(await page.locator('#error').textContent()).toContain('Invalid username or password')

    await page.fill('#username', 'demo')
    await page.fill('#password', 'demo')
    await page.click('button[type=submit]')
    await page.waitForSelector('#allow')
    expect(await page.locator('#scopes').textContent()).toContain('offline_access')
    await page.click('#allow')

    await page.waitForURL(`${web}/profile`)
    const profile = await page.content()
    expect(profile).toMatch(/Demo User|demo@example\.com|demo-user-1/)

    const me = await page.goto(`${web}/me`)
    expect(me?.status()).toBe(200)
    const body = (await me?.json()) as { sub: string; claims: Record<string, unknown> }
    expect(body.sub).toBe('demo-user-1')
    expect(JSON.stringify(body)).not.toMatch(/eyJ[\w-]+\.eyJ/)
  })

  it('shows the API data, refreshing the expired access token', async () => {
    screenshotOnFailure('api-data')
    // JSON for programs (the browser's cookies, Accept: application/json) ...
    const first = await page.request.get(`${web}/api-data`, {
      headers: { accept: 'application/json' },
    })
    expect(first.status()).toBe(200)
    const data = (await first.json()) as { sub?: string; scope?: unknown }
    expect(data.sub).toBe('demo-user-1')
    expect(String(data.scope)).toContain('read:messages')
    // ... and a page for people.
    const html = await page.goto(`${web}/api-data`)
    expect(html?.status()).toBe(200)
    expect(await page.content()).toContain('demo-user-1')

    // Let the access token expire (plus clock tolerance), then call the API again.
    const before = refreshCount()
    await new Promise((resolve) => setTimeout(resolve, (accessTokenTtl + 3) * 1000))
    const second = await page.request.get(`${web}/api-data`, {
      headers: { accept: 'application/json' },
    })
    expect(second.status()).toBe(200)
    expect(((await second.json()) as { sub?: string }).sub).toBe('demo-user-1')
    expect(refreshCount()).toBeGreaterThan(before)
    expect(demo?.output.join('')).not.toContain('token refused')
  })

  it('refreshes on demand from the profile page when the app offers a button', async () => {
    screenshotOnFailure('refresh-button')
    await page.goto(`${web}/profile`)
    const button = page.locator('#refresh-token')
    if ((await button.count()) === 0) return // the contract does not require the button
    const before = refreshCount()
    await button.click()
    await page.waitForURL(`${web}/profile`)
    await page.waitForLoadState()
    expect(refreshCount()).toBeGreaterThan(before)
    expect(demo?.output.join('')).not.toContain('token refused')
  })

  it('logs out at the AS and comes back to the app signed out', async () => {
    screenshotOnFailure('logout')
    await page.goto(`${web}/logout`)
    await page.waitForURL((url) => url.port === String(ports.web) && url.pathname === '/')
    expect(demo?.output.join('')).toContain('[as] signed out')
    const me = await page.goto(`${web}/me`)
    expect(me?.status()).toBe(401)

    // The AS session is gone too: /profile asks for the password again.
    await page.goto(`${web}/profile`)
    await page.waitForSelector('#password')
  })

  it('stops every process on Ctrl-C', async () => {
    expect(demo).toBeDefined()
    if (demo === undefined) return
    demo.child.kill('SIGINT')
    expect(await demo.exited).toBe(0)
    for (const port of [ports.as, ports.api, ports.web]) {
      expect(await portClosed(port), `port ${port}`).toBe(true)
    }
  })
})
