// attemptSilentLogin against the real local AS (oidc-provider): one prompt=none attempt per
// session; "login needed" answers bring the browser back unauthenticated; never a loop; a logout
// does not let a silent login bring the user back. The same suite against @codegrant/express and
// @codegrant/fastify.
import { request } from 'node:http'
import { completeLogin, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from './support/agent.js'
import { WEB_FRAMEWORKS, type WebTestApp } from './web-frameworks.js'

let as: LocalAs
beforeAll(async () => {
  as = await startLocalAs()
})
afterAll(async () => {
  await as?.close()
})

const silent = { attemptSilentLogin: true } as const

// What a browser sends when it loads a page. Node's fetch() always sends `Sec-Fetch-Mode: cors`
// (as a browser's fetch() does), so page() sends these through node:http.
const NAVIGATE = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }

/** A browser loading `path` as a page: its cookies sent and kept, redirects not followed. */
function page(
  agent: Agent,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response & { location: string | null }> {
  const url = new URL(path, agent.base)
  const cookie = agent.jar.header(url)
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: {
          accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
          ...NAVIGATE,
          ...(cookie !== undefined ? { cookie } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const out = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
              out.append(name, v)
            }
          }
          agent.jar.store(url, out)
          const response = new Response(res.statusCode === 302 ? null : Buffer.concat(chunks), {
            status: res.statusCode ?? 0,
            headers: out,
          })
          resolve(Object.assign(response, { location: out.get('location') }))
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** The AS authorization URL a response redirects to, checked to be a silent one. */
async function silentRequest(res: Response & { location: string | null }): Promise<URL> {
  await res.body?.cancel()
  expect(res.status).toBe(302)
  const url = new URL(res.location!)
  expect(url.origin).toBe(new URL(as.issuer).origin)
  expect(url.searchParams.get('prompt')).toBe('none')
  expect(url.searchParams.get('code_challenge_method')).toBe('S256')
  return url
}

describe.each(WEB_FRAMEWORKS)('attemptSilentLogin ($name)', (framework) => {
  async function withApp<T>(
    options: Parameters<typeof framework.start>[0] extends infer O ? Omit<O, 'as'> : never,
    run: (app: WebTestApp) => Promise<T>,
  ): Promise<T> {
    const app = await framework.start({ as, ...options })
    try {
      return await run(app)
    } finally {
      await app.close()
    }
  }

  it('without an AS session: login_required brings the browser back, once, never a loop', async () => {
    await withApp({ auth: silent }, async (app) => {
      const agent = framework.agent(app)
      const url = await silentRequest(await page(agent, '/?tab=2'))
      // What oidc-provider answers to prompt=none without a session of its own.
      const answer = await completeLogin(url, { cookieJar: agent.asJar })
      expect(answer.method).toBe('GET')
      expect(answer.url.searchParams.get('error')).toBe('login_required')
      const back = await agent.request(`${answer.url.pathname}${answer.url.search}`)
      expect(back.status).toBe(302)
      expect(back.location).toBe('/?tab=2')
      expect((await agent.json('/me')).status).toBe(401)
      for (let i = 0; i < 3; i++) {
        const again = await page(agent, '/?tab=2')
        expect(again.status).toBe(200)
        expect(await again.text()).toBe('home')
      }
    })
  })

  it('with an AS session: logs the user in without a login page, back to the page', async () => {
    await withApp({ auth: silent }, async (app) => {
      const first = framework.agent(app)
      await first.login() // an interactive login: the AS session lives in first.asJar
      const second = framework.agent(app)
      const url = await silentRequest(await page(second, '/profile'))
      // Wrong credentials: had the AS shown its login page, this would fail.
      const answer = await completeLogin(url, { cookieJar: first.asJar, password: 'wrong' })
      expect(answer.url.searchParams.get('code')).toBeTruthy()
      const back = await second.request(`${answer.url.pathname}${answer.url.search}`)
      expect(back.location).toBe('/profile')
      expect((await second.json('/me')).body.sub).toBe('demo-user-1')
      expect((await page(second, '/profile')).status).toBe(200)
    })
  })

  it('after a local logout, no silent login brings the user back (the AS session is alive)', async () => {
    await withApp({ auth: { ...silent, localLogout: true } }, async (app) => {
      const agent = framework.agent(app)
      await agent.login()
      const out = await agent.request('/logout')
      expect(out.location).toBe('/')
      const home = await page(agent, '/')
      expect(home.status).toBe(200)
      expect((await agent.json('/me')).status).toBe(401)
    })
  })

  it('leaves JSON requests, fetch(), XHR, images and POSTs alone', async () => {
    await withApp({ auth: silent }, async (app) => {
      const agent = framework.agent(app)
      expect((await agent.json('/me')).status).toBe(401)
      const requests = [
        agent.request('/'), // fetch(): Sec-Fetch-Mode: cors
        page(agent, '/', { 'x-requested-with': 'XMLHttpRequest' }),
        page(agent, '/', { 'sec-fetch-dest': 'iframe' }),
        page(agent, '/favicon.ico', {
          accept: 'image/avif,image/webp,*/*;q=0.8',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'image',
        }),
        agent.request('/', { method: 'POST' }),
      ]
      for (const res of await Promise.all(requests)) {
        await res.body?.cancel()
        expect(res.location).toBeNull()
      }
      // The one attempt is still there for the first page navigation.
      await silentRequest(await page(agent, '/'))
    })
  })

  it('with authRequired: the silent attempt first, then the interactive login, no loop', async () => {
    await withApp({ auth: { ...silent, authRequired: true } }, async (app) => {
      const agent = framework.agent(app)
      const url = await silentRequest(await page(agent, '/profile'))
      const answer = await completeLogin(url, { cookieJar: agent.asJar })
      const back = await agent.request(`${answer.url.pathname}${answer.url.search}`)
      expect(back.location).toBe('/profile')
      const again = await page(agent, '/profile')
      expect(again.status).toBe(302)
      expect(again.location).toBe('/login?returnTo=%2Fprofile')
      const login = await agent.login('/profile')
      expect(login.location).toBe('/profile')
      expect((await page(agent, '/profile')).status).toBe(200)
    })
  })
})
