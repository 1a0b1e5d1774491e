import type Provider from 'oidc-provider'

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** `http://<loopback host>:<any port>/path?query` without its port, or undefined. */
function withoutLoopbackPort(uri: string): string | undefined {
  const url = URL.parse(uri)
  if (url === null || url.protocol !== 'http:' || !loopbackHosts.has(url.hostname)) return undefined
  if (url.username !== '' || url.password !== '') return undefined
  url.port = ''
  return url.href
}

/** True when `value` equals a registered URI, or equals one except for a loopback port. */
export function loopbackUriMatches(value: string, registered: readonly string[]): boolean {
  if (registered.includes(value)) return true
  const stripped = withoutLoopbackPort(value)
  if (stripped === undefined) return false
  return registered.some((uri) => withoutLoopbackPort(uri) === stripped)
}

/**
 * @internal Lets a registered `http` loopback redirect or post-logout URI match any port, for
 * every client (oidc-provider does so only for `application_type: native`). Host, path and query
 * must still match exactly: `127.0.0.1` and `localhost` are different URIs.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function allowLoopbackAnyPort(provider: Provider): void {
  const proto = provider.Client.prototype as unknown as {
    redirectUriAllowed(value: string): boolean
    postLogoutRedirectUriAllowed(value: string): boolean
    redirectUris?: string[]
    postLogoutRedirectUris?: string[]
  }
  const redirect = proto.redirectUriAllowed
  const postLogout = proto.postLogoutRedirectUriAllowed
  proto.redirectUriAllowed = function (this: typeof proto, value: string) {
    return redirect.call(this, value) || loopbackUriMatches(value, this.redirectUris ?? [])
  }
  proto.postLogoutRedirectUriAllowed = function (this: typeof proto, value: string) {
    return (
      postLogout.call(this, value) || loopbackUriMatches(value, this.postLogoutRedirectUris ?? [])
    )
  }
}
