import { isLoopbackHost } from './loopback.js'

/**
 * Refuses anything but `https:`, except `http:` to a loopback host ({@link isLoopbackHost}):
 * a `TypeError` naming `name`. For the URLs of an authorization server and what its metadata
 * names.
 */
export function assertSecureUrl(url: URL, name: string): void {
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return
  throw new TypeError(`"${name}" must be an https: URL (http: is allowed only for loopback hosts)`)
}
