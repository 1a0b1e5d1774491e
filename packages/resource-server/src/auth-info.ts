/**
 * What a verified access token says, as `verify()` returns it (and the Express and Fastify
 * adapters put on `req.accessToken` / `request.accessToken`). Frozen and shared by every request
 * that presents the same token.
 */
export interface AuthInfo {
  /**
   * The access token itself (non-enumerable, so `JSON.stringify(auth)` never echoes it), for
   * calling further APIs on the user's behalf.
   */
  readonly token: string
  /** How the token was verified: locally as a JWT, or by introspection. */
  readonly format: 'jwt' | 'opaque'
  /** `Bearer`, or `DPoP` for a DPoP-bound token. */
  readonly tokenType: 'Bearer' | 'DPoP'
  /** The JWT claims, or the introspection response. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The JWS protected header (JWT only). */
  readonly header: Readonly<Record<string, unknown>> | undefined
  /** The `sub` claim, when it is a string. */
  readonly sub: string | undefined
  /** The `client_id` claim (or `azp` when there is no `client_id`). */
  readonly clientId: string | undefined
  /** The granted scopes from `scope` (string) and `scp` (array), and any `scopeClaims`. */
  readonly scopes: readonly string[]
  /** The `exp` claim (seconds since the epoch), when present. */
  readonly expiresAt: number | undefined
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}

/** Reads the scopes from the configured claims: space-separated strings or string arrays. */
export function readScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeClaims: readonly string[],
): string[] {
  const out: string[] = []
  for (const name of scopeClaims) {
    const value = claims[name]
    const list = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : []
    for (const scope of list)
      if (typeof scope === 'string' && scope !== '' && !out.includes(scope)) out.push(scope)
  }
  return out
}

/** Builds the frozen {@link AuthInfo} of a verified token (claims are frozen in place). */
export function createAuthInfo(
  token: string,
  format: 'jwt' | 'opaque',
  tokenType: 'Bearer' | 'DPoP',
  claims: Record<string, unknown>,
  header: Record<string, unknown> | undefined,
  scopeClaims: readonly string[],
): AuthInfo {
  const clientId =
    typeof claims.client_id === 'string'
      ? claims.client_id
      : typeof claims.azp === 'string'
        ? claims.azp
        : undefined
  const auth = {
    format,
    tokenType,
    claims: deepFreeze(claims),
    header: header === undefined ? undefined : deepFreeze(header),
    sub: typeof claims.sub === 'string' ? claims.sub : undefined,
    clientId,
    scopes: Object.freeze(readScopes(claims, scopeClaims)),
    expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
  }
  Object.defineProperty(auth, 'token', { value: token, enumerable: false })
  return Object.freeze(auth) as AuthInfo
}
