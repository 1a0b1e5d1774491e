import type Provider from 'oidc-provider'
import type { KoaContextWithOIDC } from 'oidc-provider'

type Middleware = Parameters<Provider['use']>[0]

/**
 * @internal Remembers which authorization requests asked for `offline_access`.
 *
 * oidc-provider drops `offline_access` from an authorization request unless it also carries
 * `prompt=consent`. Cloudentity (and most servers) do not need that, so this AS follows them:
 * the original request's scope is noted when it arrives (directly, by PAR, or on resume), the
 * consent page then grants `offline_access`, and `issueRefreshToken` issues a refresh token for
 * codes whose request asked for it and whose grant holds it.
 */
export interface OfflineAccessTracker {
  readonly middleware: Middleware
  interactionWantsOffline(uid: string): boolean
  codeWantsOffline(jti: string): boolean
}

function hasOffline(scope: unknown): boolean {
  return typeof scope === 'string' && scope.split(' ').includes('offline_access')
}

/** A Set that forgets its oldest entries beyond `max`. */
function boundedSet(max: number) {
  const set = new Set<string>()
  return {
    add(value: string) {
      set.add(value)
      if (set.size > max) {
        const first = set.values().next()
        if (!first.done) set.delete(first.value)
      }
    },
    has: (value: string) => set.has(value),
  }
}

/** @internal */
export function createOfflineAccessTracker(paths: {
  authorization: string
  par: string
}): OfflineAccessTracker {
  const parRequests = boundedSet(10_000)
  const interactions = boundedSet(10_000)
  const codes = boundedSet(10_000)

  const middleware: Middleware = async (ctx, next) => {
    let wants = false
    if (ctx.method === 'GET' && ctx.path === paths.authorization) {
      const requestUri = ctx.query.request_uri
      wants =
        hasOffline(ctx.query.scope) ||
        (typeof requestUri === 'string' && parRequests.has(requestUri))
    } else if (ctx.path.startsWith(`${paths.authorization}/`)) {
      wants = interactions.has(ctx.path.slice(paths.authorization.length + 1))
    }
    await next()
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc as
      (KoaContextWithOIDC['oidc'] & { body?: Record<string, unknown> }) | undefined
    if (ctx.method === 'POST' && ctx.path === paths.par && ctx.status === 201) {
      const requestUri = (ctx.body as { request_uri?: unknown } | undefined)?.request_uri
      if (typeof requestUri === 'string' && hasOffline(oidc?.body?.scope))
        parRequests.add(requestUri)
    }
    if (wants && oidc !== undefined) {
      const interaction = oidc.entities.Interaction
      if (interaction?.uid) interactions.add(interaction.uid)
      const code = oidc.entities.AuthorizationCode
      if (code?.jti) codes.add(code.jti)
    }
  }

  return {
    middleware,
    interactionWantsOffline: (uid) => interactions.has(uid),
    codeWantsOffline: (jti) => codes.has(jti),
  }
}
