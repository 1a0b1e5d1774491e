// A browser-like HTTP agent for one app, with a cookie jar (and the AS's), redirects not followed.
import { completeLogin, CookieJar } from '@codegrant/local-as'

/** A browser-like agent for one app: cookies kept, redirects not followed. */
export class Agent {
  readonly jar = new CookieJar()
  /** The AS-side jar (single sign-on across logins of this agent). */
  readonly asJar = new CookieJar()

  /**
   * @param base the app's URL
   * @param cookieName the app's session cookie (express-session's default `connect.sid`,
   *   @fastify/session's `sessionId`)
   */
  constructor(
    public base: string,
    readonly cookieName = 'connect.sid',
  ) {}

  async request(
    path: string,
    init: {
      method?: string
      accept?: string
      body?: URLSearchParams
      headers?: Record<string, string>
      /** Send the request to another instance of the app (same cookies). */
      via?: string
    } = {},
  ): Promise<Response & { location: string | null }> {
    const url = new URL(path, init.via ?? this.base)
    const own = new URL(path, this.base)
    const headers = new Headers({ accept: init.accept ?? 'text/html', ...init.headers })
    const cookie = this.jar.header(own)
    if (cookie !== undefined) headers.set('cookie', cookie)
    if (init.body !== undefined) headers.set('content-type', 'application/x-www-form-urlencoded')
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.body !== undefined ? { body: init.body.toString() } : {}),
    })
    this.jar.store(own, response.headers)
    return Object.assign(response, { location: response.headers.get('location') })
  }

  /** The session cookie value (the signed session id). */
  sessionCookie(): string | undefined {
    const header = this.jar.header(new URL(this.base))
    return header
      ?.split(/;\s*/)
      .find((pair) => pair.startsWith(`${this.cookieName}=`))
      ?.slice(this.cookieName.length + 1)
  }

  /** Starts a login; returns the AS authorization URL. */
  async startLogin(returnTo?: string): Promise<URL> {
    const res = await this.request(
      returnTo === undefined ? '/login' : `/login?returnTo=${encodeURIComponent(returnTo)}`,
    )
    await res.body?.cancel()
    if (res.status !== 302 || res.location === null) throw new Error(`login answered ${res.status}`)
    return new URL(res.location)
  }

  /** Signs in at the AS and delivers the authorization response to the app's callback. */
  async finishLogin(authorizationUrl: URL, consent: 'allow' | 'deny' = 'allow') {
    const response = await completeLogin(authorizationUrl, { cookieJar: this.asJar, consent })
    if (response.method === 'POST') {
      return this.request(response.url.pathname, { method: 'POST', body: response.body })
    }
    return this.request(`${response.url.pathname}${response.url.search}`)
  }

  /** A complete login; returns the callback response. */
  async login(returnTo?: string) {
    return this.finishLogin(await this.startLogin(returnTo))
  }

  async json(path: string, via?: string): Promise<{ status: number; body: any }> {
    const res = await this.request(path, {
      accept: 'application/json',
      ...(via !== undefined ? { via } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits for the start of the next second. Token expiry is in whole seconds: with 2 s tokens, what
 * follows (a refresh and the checks after it) must fall in one second to be deterministic.
 */
export async function atSecondStart(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 10)
}
