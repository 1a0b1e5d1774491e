/**
 * The `token_type` of a token response or token set as the scheme it is sent with: `Bearer` or
 * `DPoP`, compared case-insensitively (RFC 6749 §5.1: the type is case-insensitive); undefined
 * for anything else (a missing value, a non-string, `MAC`, `N_A`), which callers refuse.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-7.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export function tokenScheme(tokenType: unknown): 'Bearer' | 'DPoP' | undefined {
  if (typeof tokenType !== 'string') return undefined
  const type = tokenType.toLowerCase()
  return type === 'bearer' ? 'Bearer' : type === 'dpop' ? 'DPoP' : undefined
}
