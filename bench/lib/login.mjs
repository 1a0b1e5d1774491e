// Logs in once through an app's own login route against the local AS, like a browser would,
// and returns the Cookie header of the authenticated session.

/** A minimal cookie jar for one origin. */
export function createCookieJar() {
  /** @type {Map<string, string>} */
  const cookies = new Map()
  return {
    /** @param {Response} res */
    store(res) {
      for (const line of res.headers.getSetCookie()) {
        const [pair = '', ...attrs] = line.split(';')
        const eq = pair.indexOf('=')
        if (eq <= 0) continue
        const name = pair.slice(0, eq).trim()
        const value = pair.slice(eq + 1).trim()
        const expired = attrs.some((a) => {
          const [k = '', v = ''] = a.split('=').map((s) => s.trim())
          if (k.toLowerCase() === 'max-age') return Number(v) <= 0
          if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now()
          return false
        })
        if (expired || value === '') cookies.delete(name)
        else cookies.set(name, value)
      }
    },
    header() {
      return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    },
    get size() {
      return cookies.size
    },
  }
}

/**
 * @param {object} options
 * @param {string} options.appUrl the app's origin, e.g. http://127.0.0.1:1234
 * @param {string} options.probePath a protected route that must answer 200 once logged in
 * @param {(authorizationUrl: string) => Promise<{ method: 'GET' | 'POST', url: URL, body?: URLSearchParams }>} options.authenticate
 *   signs the demo user in at the AS and returns the authorization response aimed at the app's
 *   callback (a GET with `code` and `state` in the query, or a form POST)
 * @returns {Promise<string>} the Cookie header value
 */
export async function loginThroughApp({ appUrl, probePath, authenticate }) {
  const jar = createCookieJar()
  const start = await fetch(`${appUrl}/login`, { redirect: 'manual' })
  jar.store(start)
  const authorizationUrl = start.headers.get('location')
  if (start.status !== 302 || !authorizationUrl) {
    throw new Error(`GET /login answered ${start.status} without a redirect`)
  }
  const response = await authenticate(new URL(authorizationUrl, appUrl).href)
  const callback = await fetch(response.url, {
    method: response.method,
    redirect: 'manual',
    headers: { cookie: jar.header() },
    ...(response.method === 'POST' ? { body: response.body } : {}),
  })
  jar.store(callback)
  if (callback.status >= 400) {
    throw new Error(`the callback answered ${callback.status}: ${await callback.text()}`)
  }
  const probe = await fetch(`${appUrl}${probePath}`, {
    redirect: 'manual',
    headers: { cookie: jar.header() },
  })
  jar.store(probe)
  if (probe.status !== 200) throw new Error(`GET ${probePath} after login answered ${probe.status}`)
  await probe.arrayBuffer()
  return jar.header()
}
