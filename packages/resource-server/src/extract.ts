import type { X509Certificate } from 'node:crypto'
import { ResourceServerError } from './errors.js'
import type { ResolvedOptions } from './options.js'

/**
 * The parts of an HTTP request that `verify()` reads. Node's `IncomingMessage` headers fit as
 * they are; with a Fetch `Request`, pass `Object.fromEntries(request.headers)`.
 */
export interface VerifyRequest {
  /** Request headers with lower-case names: `authorization`, `dpop`, `content-type`. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The HTTP method (DPoP `htm`; form-body tokens are refused on GET and HEAD). */
  readonly method?: string
  /** The absolute request URL as the client addressed it (DPoP `htu`). */
  readonly url?: string | URL
  /** The parsed form body, when form-body tokens are allowed. */
  readonly body?: unknown
  /** The parsed query (an object or `URLSearchParams`), when query tokens are allowed. */
  readonly query?: unknown
  /** The client's TLS certificate (DER bytes, PEM or `X509Certificate`) for RFC 8705 binding. */
  readonly clientCertificate?: X509Certificate | Uint8Array | string
}

/** The token of a request and the scheme it came with. */
export interface ExtractedToken {
  readonly token: string
  readonly scheme: 'Bearer' | 'DPoP'
}

/** RFC 6750 §2.1 `b64token`. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** True when `value` starts with `scheme` (lower-case ASCII) and a space, in any letter case. */
function hasScheme(value: string, scheme: string): boolean {
  const n = scheme.length
  if (value.length <= n || value.charCodeAt(n) !== 32) return false
  for (let i = 0; i < n; i++)
    if ((value.charCodeAt(i) | 0x20) !== scheme.charCodeAt(i)) return false
  return true
}

/** `Bearer` or `DPoP` with nothing after it (Node trims the trailing space of `Bearer `). */
function isBareScheme(value: string): boolean {
  const lower = value.length === 6 || value.length === 4 ? value.toLowerCase() : ''
  return lower === 'bearer' || lower === 'dpop'
}

function tooLarge(): ResourceServerError {
  return new ResourceServerError('ERR_TOKEN_MALFORMED', {
    description: 'The access token is too large',
  })
}

function invalidRequest(description: string): ResourceServerError {
  return new ResourceServerError('ERR_INVALID_REQUEST', { description })
}

function fromParams(source: unknown): unknown {
  if (source instanceof URLSearchParams) {
    const all = source.getAll('access_token')
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all
  }
  if (typeof source === 'object' && source !== null)
    return (source as Record<string, unknown>).access_token
  return undefined
}

/** The error for a token outside the RFC 6750 `b64token` syntax. */
export function malformedToken(): ResourceServerError {
  return invalidRequest('The access token is malformed')
}

/**
 * Finds the access token: the `Authorization` header (`Bearer` or `DPoP`, scheme in any case),
 * and, only when allowed, a form-encoded body or the query. More than one method is
 * `invalid_request`; none is `ERR_TOKEN_MISSING` (401 without an error code). The length limit
 * is applied before any parsing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2 RFC 6750 §2
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
 */
export function extractToken(req: VerifyRequest, options: ResolvedOptions): ExtractedToken {
  let token: string | undefined
  let scheme: 'Bearer' | 'DPoP' = 'Bearer'
  const header = req.headers.authorization
  if (header !== undefined) {
    if (typeof header !== 'string') throw invalidRequest('The Authorization header is malformed')
    let start = -1
    if (hasScheme(header, 'bearer')) start = 7
    else if (hasScheme(header, 'dpop')) {
      start = 5
      scheme = 'DPoP'
    } else if (isBareScheme(header)) throw invalidRequest('The Authorization header is malformed')
    if (start !== -1) {
      if (header.length - start > options.maxTokenLength + 16) throw tooLarge()
      while (header.charCodeAt(start) === 32) start++
      token = header.slice(start)
      if (token.length > options.maxTokenLength) throw tooLarge()
      // The b64token syntax is checked by the verifier, only for tokens it has not seen: a cached
      // token passed that check when it was first verified.
      if (token === '') throw invalidRequest('The Authorization header is malformed')
    }
  }
  if (options.allowBodyToken && req.body !== undefined) {
    const value = fromParams(req.body)
    if (value !== undefined) {
      const contentType = req.headers['content-type']
      const method = req.method?.toUpperCase()
      if (
        typeof contentType !== 'string' ||
        !contentType.toLowerCase().startsWith('application/x-www-form-urlencoded') ||
        method === 'GET' ||
        method === 'HEAD'
      )
        throw invalidRequest('A body access token needs a form-encoded request with a body')
      token = another(token, value, options)
    }
  }
  if (options.allowQueryToken && req.query !== undefined) {
    const value = fromParams(req.query)
    if (value !== undefined) token = another(token, value, options)
  }
  if (token === undefined)
    throw new ResourceServerError('ERR_TOKEN_MISSING', {
      realm: options.realm,
      scheme: options.dpop.required ? 'DPoP' : 'Bearer',
      algs: options.dpop.required ? options.dpop.algs : undefined,
    })
  return { token, scheme }
}

function another(current: string | undefined, value: unknown, options: ResolvedOptions): string {
  if (current !== undefined)
    throw invalidRequest('The access token was sent by more than one method')
  if (typeof value !== 'string') throw invalidRequest('The access_token parameter is malformed')
  if (value.length > options.maxTokenLength) throw tooLarge()
  if (!B64TOKEN.test(value)) throw invalidRequest('The access_token parameter is malformed')
  return value
}
