import { CookieJar } from './cookie-jar.js'
import { attribute, decodeHtml, firstForm, hiddenInputs } from './html-form.js'

/** Options of {@link completeLogin}. */
export interface CompleteLoginOptions {
  /** @default 'demo' */
  username?: string
  /** @default 'demo' */
  password?: string
  /** What to answer on the consent page, if one appears. @default 'allow' */
  consent?: 'allow' | 'deny'
  /** @default globalThis.fetch */
  fetch?: typeof fetch
  /** Reuse one jar across calls for single sign-on (the second login skips the login page). */
  cookieJar?: CookieJar
}

/** The authorization response aimed at the client's redirect_uri, not followed. */
export type AuthorizationResponse =
  { method: 'GET'; url: URL } | { method: 'POST'; url: URL; body: URLSearchParams }

/** Thrown when the AS does not reach a redirect to the client (bad credentials, AS error page). */
export class CompleteLoginError extends Error {
  override readonly name = 'CompleteLoginError'
  constructor(
    message: string,
    readonly code: 'ERR_LOGIN_FAILED' | 'ERR_AS_ERROR' | 'ERR_UNEXPECTED_RESPONSE',
    readonly status?: number,
  ) {
    super(message)
  }
}

const maxSteps = 20

/** One request of a browser-like walk through the AS pages. */
export interface PageRequest {
  url: URL
  method: 'GET' | 'POST'
  body?: URLSearchParams
}

/**
 * Sends `request` as a browser would (cookies from and into `jar`, a form body, redirects not
 * followed). For a redirect, `redirect` is its target resolved against the request URL (the body
 * discarded), or `null` without a Location; otherwise `undefined`. Internal to this package.
 */
export async function sendPageRequest(
  doFetch: typeof fetch,
  jar: CookieJar,
  request: PageRequest,
): Promise<{ response: Response; redirect: URL | null | undefined }> {
  const headers = new Headers({ accept: 'text/html' })
  const cookie = jar.header(request.url)
  if (cookie !== undefined) headers.set('cookie', cookie)
  if (request.body !== undefined) {
    headers.set('content-type', 'application/x-www-form-urlencoded')
  }
  const response = await doFetch(request.url, {
    method: request.method,
    headers,
    redirect: 'manual',
    ...(request.body === undefined ? {} : { body: request.body.toString() }),
  })
  jar.store(request.url, response.headers)
  if (response.status < 300 || response.status >= 400) return { response, redirect: undefined }
  await response.body?.cancel()
  const location = response.headers.get('location')
  return { response, redirect: location === null ? null : new URL(location, request.url) }
}

/**
 * Drives the local AS over plain HTTP like a browser would, without one: follows the authorization
 * request's redirects, signs in on the login page, answers the consent page, and returns the final
 * authorization response aimed at the client's redirect_uri (any origin other than the AS's)
 * without following it. For `response_mode=form_post` it returns the auto-submitted form.
 *
 * @throws {CompleteLoginError} `ERR_LOGIN_FAILED` on wrong credentials, `ERR_AS_ERROR` when the
 * AS shows an error page, `ERR_UNEXPECTED_RESPONSE` otherwise.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export async function completeLogin(
  authorizationUrl: string | URL,
  options: CompleteLoginOptions = {},
): Promise<AuthorizationResponse> {
  const doFetch = options.fetch ?? globalThis.fetch
  const jar = options.cookieJar ?? new CookieJar()
  const start = new URL(authorizationUrl)
  const asOrigin = start.origin

  let request: PageRequest = { url: start, method: 'GET' }
  for (let step = 0; step < maxSteps; step += 1) {
    const { response, redirect: next } = await sendPageRequest(doFetch, jar, request)
    if (next !== undefined) {
      if (next === null) {
        throw new CompleteLoginError(
          'redirect without Location',
          'ERR_UNEXPECTED_RESPONSE',
          response.status,
        )
      }
      if (next.origin !== asOrigin) return { method: 'GET', url: next }
      request = { url: next, method: 'GET' }
      continue
    }

    const html = await response.text()
    const form = firstForm(html)
    if (form !== undefined) {
      const action = new URL(decodeHtml(attribute(form.tag, 'action') ?? ''), request.url)
      const body = hiddenInputs(form.inner)
      const stepName = attribute(form.tag, 'data-step')
      if (stepName === 'login') {
        if (/id="error"/.test(html)) {
          throw new CompleteLoginError(
            'invalid username or password',
            'ERR_LOGIN_FAILED',
            response.status,
          )
        }
        body.set('username', options.username ?? 'demo')
        body.set('password', options.password ?? 'demo')
        request = { url: action, method: 'POST', body }
        continue
      }
      if (stepName === 'consent') {
        body.set('decision', options.consent ?? 'allow')
        request = { url: action, method: 'POST', body }
        continue
      }
      if (action.origin !== asOrigin) return { method: 'POST', url: action, body }
      // oidc-provider's own auto-submitting forms (e.g. a logout without a session).
      request = { url: action, method: 'POST', body }
      continue
    }
    const error = /id="error"[^>]*>(?:<code>)?([^<]*)/.exec(html)?.[1]
    throw new CompleteLoginError(
      error ? `the authorization server answered ${decodeHtml(error)}` : 'unexpected page',
      error ? 'ERR_AS_ERROR' : 'ERR_UNEXPECTED_RESPONSE',
      response.status,
    )
  }
  throw new CompleteLoginError('too many redirects', 'ERR_UNEXPECTED_RESPONSE')
}
