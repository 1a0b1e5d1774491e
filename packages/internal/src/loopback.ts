import { BlockList, isIPv4, isIPv6 } from 'node:net'

/** `::1` alone: IPv4-mapped addresses (`::ffff:7f00:1`) are not treated as loopback. */
function ipv6Loopback(): BlockList {
  const list = new BlockList()
  list.addAddress('::1', 'ipv6')
  return list
}

// Pure: a bundle that never calls isLoopbackHost leaves the list (and node:net) out.
const IPV6_LOOPBACK = /* @__PURE__ */ ipv6Loopback()

/**
 * True for `localhost`, `127.0.0.0/8` (a dotted quad, as the URL parser prints it) and `::1`
 * (bare or in brackets, as `URL#hostname` gives it, in any spelling): hosts that never leave
 * the machine. Not `*.localhost`, which a resolver may send to DNS, not a DNS name that starts
 * with `127` (`127.evil.com`, `127.0.0.1.nip.io`), not an IPv4-mapped IPv6 address.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6890#section-2.2.2
 * @see https://www.rfc-editor.org/rfc/rfc6761#section-6.3
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  if (host === 'localhost') return true
  if (isIPv4(host)) return host.startsWith('127.')
  const ipv6 = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return isIPv6(ipv6) && IPV6_LOOPBACK.check(ipv6, 'ipv6')
}
