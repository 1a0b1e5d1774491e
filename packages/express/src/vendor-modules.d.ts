// Types of the two small modules express-session is built on (neither ships its own).

declare module 'cookie' {
  /** Parses a `Cookie` header: the first value of each name, percent-decoded. */
  export function parse(header: string): Record<string, string | undefined>
}

declare module 'on-headers' {
  import type { ServerResponse } from 'node:http'
  /** Calls `listener` once, just before the response's headers are written. */
  export default function onHeaders(res: ServerResponse, listener: () => void): void
}
