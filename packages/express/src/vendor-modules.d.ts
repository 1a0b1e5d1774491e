// Types of the small modules express-session is built on (none ships its own).

declare module 'cookie' {
  /** Parses a `Cookie` header: the first value of each name, percent-decoded. */
  export function parse(header: string): Record<string, string | undefined>
}

declare module 'on-headers' {
  import type { ServerResponse } from 'node:http'
  /** Calls `listener` once, just before the response's headers are written. */
  export default function onHeaders(res: ServerResponse, listener: () => void): void
}

declare module 'cookie-signature' {
  /** `value.<HMAC-SHA256 of value, base64 without padding>`. */
  export function sign(value: string, secret: string): string
  /** The value of a signed string when `secret` signed it (constant-time compare), else `false`. */
  export function unsign(signed: string, secret: string): string | false
  const signature: { sign: typeof sign; unsign: typeof unsign }
  export default signature
}
