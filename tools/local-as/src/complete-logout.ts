import { CompleteLoginError, sendPageRequest, type PageRequest } from './complete-login.js'
import { CookieJar } from './cookie-jar.js'
import { attribute, firstForm, hiddenInputs } from './html-form.js'

/** Options of {@link completeLogout}. */
export interface CompleteLogoutOptions {
  /** The jar of the session to end (the one given to {@link completeLogin}). */
  cookieJar?: CookieJar
  /** Answer of the confirmation page. @default true (sign out) */
  confirm?: boolean
  /** @default globalThis.fetch */
  fetch?: typeof fetch
}

/**
 * Drives an RP-initiated logout over plain HTTP: opens the end-session URL, confirms the sign-out
 * and returns where the AS finally sends the browser, without following it out of the AS: the
 * client's `post_logout_redirect_uri` (with `state`), or the AS's own "signed out" page.
 *
 * @throws {CompleteLoginError} `ERR_AS_ERROR` when the AS shows an error page.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 */
export async function completeLogout(
  endSessionUrl: string | URL,
  options: CompleteLogoutOptions = {},
): Promise<{ url: URL; status: number }> {
  const doFetch = options.fetch ?? globalThis.fetch
  const jar = options.cookieJar ?? new CookieJar()
  const start = new URL(endSessionUrl)
  let request: PageRequest = { url: start, method: 'GET' }
  for (let step = 0; step < 10; step += 1) {
    const { response, redirect: next } = await sendPageRequest(doFetch, jar, request)
    if (next !== undefined) {
      if (next === null) break
      if (next.origin !== start.origin) return { url: next, status: response.status }
      request = { url: next, method: 'GET' }
      continue
    }
    const html = await response.text()
    const form = firstForm(html)
    if (response.ok && form !== undefined) {
      const body = hiddenInputs(form.inner)
      if (options.confirm !== false) body.set('logout', 'yes')
      else body.delete('logout')
      request = {
        url: new URL(attribute(form.tag, 'action') ?? '', request.url),
        method: 'POST',
        body,
      }
      continue
    }
    if (response.ok) return { url: request.url, status: response.status }
    const error = /id="error"[^>]*>(?:<code>)?([^<]*)/.exec(html)?.[1]
    throw new CompleteLoginError(
      error ? `the authorization server answered ${error}` : 'unexpected page',
      error ? 'ERR_AS_ERROR' : 'ERR_UNEXPECTED_RESPONSE',
      response.status,
    )
  }
  throw new CompleteLoginError('too many redirects', 'ERR_UNEXPECTED_RESPONSE')
}
