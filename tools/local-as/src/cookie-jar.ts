interface StoredCookie {
  name: string
  value: string
  host: string
  path: string
  expires: number | undefined
}

/**
 * A minimal cookie jar for driving the local AS over HTTP without a browser: it keeps cookies per
 * host and path, honours `Max-Age` / `Expires` deletion, and ignores `Domain` (host-only cookies).
 * Enough for oidc-provider's session and interaction cookies; not a general-purpose jar.
 */
export class CookieJar {
  readonly #cookies: StoredCookie[] = []

  /** Stores the `Set-Cookie` headers of a response to `url`. */
  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) this.#storeOne(url, line)
  }

  /** The `Cookie` header value for a request to `url` (undefined when none applies). */
  header(url: URL): string | undefined {
    const now = Date.now()
    const matching = this.#cookies.filter(
      (c) =>
        c.host === url.host &&
        (c.expires === undefined || c.expires > now) &&
        (url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
    )
    if (matching.length === 0) return undefined
    matching.sort((a, b) => b.path.length - a.path.length)
    return matching.map((c) => `${c.name}=${c.value}`).join('; ')
  }

  /** Number of live cookies, for tests. */
  get size(): number {
    const now = Date.now()
    return this.#cookies.filter((c) => c.expires === undefined || c.expires > now).length
  }

  #storeOne(url: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';')
    const eq = pair.indexOf('=')
    if (eq <= 0) return
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    let path = url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/'
    let expires: number | undefined
    for (const attribute of attributes) {
      const [key = '', ...rest] = attribute.split('=')
      const attrValue = rest.join('=').trim()
      switch (key.trim().toLowerCase()) {
        case 'path':
          if (attrValue.startsWith('/')) path = attrValue
          break
        case 'max-age': {
          const seconds = Number(attrValue)
          if (Number.isFinite(seconds)) expires = Date.now() + seconds * 1000
          break
        }
        case 'expires': {
          const at = Date.parse(attrValue)
          if (expires === undefined && Number.isFinite(at)) expires = at
          break
        }
      }
    }
    const index = this.#cookies.findIndex(
      (c) => c.name === name && c.host === url.host && c.path === path,
    )
    if (index !== -1) this.#cookies.splice(index, 1)
    if (expires !== undefined && expires <= Date.now()) return
    this.#cookies.push({ name, value, host: url.host, path, expires })
  }
}
