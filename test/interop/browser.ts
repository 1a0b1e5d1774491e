// A browser stand-in for the interop suite: one cookie jar for every origin (the web app and the
// authorization server), redirects returned rather than followed, HTML forms read the way a browser
// submits them.
import { CookieJar } from '@codegrant/local-as'

export interface BrowserResponse {
  readonly status: number
  readonly url: URL
  /** The absolute `Location` of a redirect, else undefined. */
  readonly location: URL | undefined
  readonly headers: Headers
  readonly text: string
}

export interface RequestInit {
  method?: string
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: URLSearchParams
  /** Sent as `application/json`. */
  json?: unknown
  accept?: string
}

// What browsers send for a navigation (LemonLDAP answers JSON to clients that prefer it).
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

/** One user's browser: cookies per host, no redirect following. */
export class Browser {
  readonly #jar = new CookieJar()

  async request(target: string | URL, init: RequestInit = {}): Promise<BrowserResponse> {
    const url = new URL(target)
    const headers = new Headers({ accept: init.accept ?? BROWSER_ACCEPT })
    const cookie = this.#jar.header(url)
    if (cookie !== undefined) headers.set('cookie', cookie)
    let body: string | undefined
    if (init.form !== undefined) {
      headers.set('content-type', 'application/x-www-form-urlencoded')
      body = init.form.toString()
    } else if (init.json !== undefined) {
      headers.set('content-type', 'application/json')
      body = JSON.stringify(init.json)
    }
    const response = await fetch(url, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body } : {}),
    })
    this.#jar.store(url, response.headers)
    const location = response.headers.get('location')
    return {
      status: response.status,
      url,
      location: location === null ? undefined : new URL(location, url),
      headers: response.headers,
      text: await response.text(),
    }
  }

  /** A request whose answer must be a redirect: its target. */
  async redirect(target: string | URL, init: RequestInit = {}): Promise<URL> {
    const response = await this.request(target, init)
    if (response.location === undefined || response.status < 300 || response.status > 399) {
      throw new Error(
        `${init.method ?? 'GET'} ${response.url.origin}${response.url.pathname} answered ${response.status}, not a redirect: ${response.text.slice(0, 300)}`,
      )
    }
    return response.location
  }

  /** GET that must answer JSON: status and parsed body. */
  async json(target: string | URL): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await this.request(target, { accept: 'application/json' })
    const body =
      response.text.length > 0 ? (JSON.parse(response.text) as Record<string, unknown>) : {}
    return { status: response.status, body }
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }
const decode = (value: string) =>
  value.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ENTITIES[e] ?? '')

/**
 * The fields a browser would submit for the first `<form>` of `html` whose opening tag matches
 * `formPattern`: every named `<input>` with its value (`value` attribute, or empty).
 */
export function formFields(html: string, formPattern: RegExp = /<form\b/): URLSearchParams {
  const start = html.search(formPattern)
  if (start === -1) throw new Error(`no form matching ${formPattern} in the page`)
  const end = html.indexOf('</form>', start)
  const form = html.slice(start, end === -1 ? undefined : end)
  const fields = new URLSearchParams()
  for (const [input] of form.matchAll(/<input\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(input)?.[1]
    if (name === undefined) continue
    if (/\btype="checkbox"/.test(input) && !/\bchecked\b/.test(input)) continue
    fields.set(decode(name), decode(/\bvalue="([^"]*)"/.exec(input)?.[1] ?? ''))
  }
  return fields
}
