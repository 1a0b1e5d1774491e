import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import type Provider from 'oidc-provider'
import type { KoaContextWithOIDC } from 'oidc-provider'

type Middleware = Parameters<Provider['use']>[0]

/**
 * @internal Makes the introspection endpoint answer for this AS's own JWT access tokens too.
 *
 * oidc-provider authenticates the client, then refuses structured (JWT) tokens with
 * `unsupported_token_type`. This middleware catches exactly that answer and, for the already
 * authenticated client, verifies the JWT against the AS's own keys (issuer, `typ: at+jwt`,
 * expiry) and replies as RFC 7662 says: `active: true` with the token's claims, or
 * `active: false`. A JWT is self-contained: revoking its grant does not deactivate it.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function jwtIntrospection(input: {
  path: string
  issuer: string
  publicJwks: readonly JWK[]
  mayIntrospect: (clientId: string, tokenClientId: unknown) => boolean
}): Middleware {
  const keys = createLocalJWKSet({ keys: [...input.publicJwks] })
  return async (ctx, next) => {
    await next()
    if (ctx.method !== 'POST' || ctx.path !== input.path || ctx.status !== 400) return
    const body = ctx.body as { error?: unknown } | undefined
    if (body?.error !== 'unsupported_token_type') return
    const { oidc } = ctx as unknown as KoaContextWithOIDC
    const client = oidc?.client
    const token = oidc?.params?.token
    if (client === undefined || typeof token !== 'string') return
    let response: Record<string, unknown> = { active: false }
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: input.issuer, typ: 'at+jwt' })
      if (input.mayIntrospect(client.clientId, payload.client_id)) {
        response = {
          ...payload,
          active: true,
          token_type:
            payload.cnf && typeof payload.cnf === 'object' && 'jkt' in payload.cnf
              ? 'DPoP'
              : 'Bearer',
        }
      }
    } catch {
      // invalid, expired or foreign: inactive
    }
    ctx.status = 200
    ctx.type = 'application/json'
    ctx.body = response
  }
}
