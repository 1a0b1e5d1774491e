import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, type JWK } from 'jose'
import type Provider from 'oidc-provider'
import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider'
import {
  builtInClientMetadata,
  localClients,
  openidScopes,
  withOpenidScopeOnly,
} from './clients.js'
import { captureProviderNotices } from './console-filter.js'
import { interactionPath, interactionRoutes } from './interactions.js'
import { jwtIntrospection } from './jwt-introspection.js'
import { generateSigningKeys } from './keys.js'
import { allowLoopbackAnyPort } from './loopback.js'
import { createOfflineAccessTracker } from './offline-access.js'
import { resolveOptions, type LocalAsOptions, type ResolvedOptions } from './options.js'
import { errorPage, loggedOutPage, logoutPage } from './pages.js'

/** A notable provider event, recorded in {@link LocalAs.events}. */
export interface LocalAsEvent {
  /** oidc-provider's event name, e.g. `grant.success`, `grant.revoked`, `backchannel.success`. */
  readonly name: string
  /** Milliseconds since the epoch. */
  readonly at: number
  readonly clientId?: string
  readonly grantType?: string
  readonly grantId?: string
  readonly accountId?: string
  readonly sid?: string
  /** `grant.success` with a client assertion (`client_secret_jwt`, `private_key_jwt`): its `aud`. */
  readonly clientAssertionAudience?: string | readonly string[]
  /** OAuth error code (error events). */
  readonly error?: string
  readonly errorDescription?: string
}

/** A running local authorization server. */
export interface LocalAs {
  /** The issuer identifier, e.g. `http://127.0.0.1:53211`. */
  readonly issuer: string
  /** The URL the server listens on. */
  readonly url: URL
  /** The oidc-provider instance, for anything not wrapped here. */
  readonly provider: Provider
  /** The public signing keys (RS256 and ES256), as published at `jwks_uri`. */
  readonly signingKeys: { readonly keys: readonly JWK[] }
  /** Recorded provider events, oldest first (cleared by {@link LocalAs.resetCounts}). */
  readonly events: LocalAsEvent[]
  /** Registers (or replaces) a client at runtime, e.g. with a `backchannel_logout_uri`. */
  addClient(metadata: ClientMetadata): Promise<void>
  /** Successful token endpoint requests of one `grant_type` since start or the last reset. */
  grantCount(grantType: string): number
  /** Clears the grant counters and the recorded events. */
  resetCounts(): void
  /** Stops the server; open connections are closed. */
  close(): Promise<void>
}

const routes = {
  authorization: '/auth',
  pushed_authorization_request: '/request',
  end_session: '/session/end',
  introspection: '/token/introspection',
} as const

let providerClass: Promise<typeof Provider> | undefined

function loadProvider(): Promise<typeof Provider> {
  providerClass ??= import('oidc-provider').then((mod) => mod.default)
  return providerClass
}

function grantFromContext(ctx: KoaContextWithOIDC): { grantId?: string } {
  const grant = ctx.oidc?.entities?.Grant as { jti?: string } | undefined
  return grant?.jti ? { grantId: grant.jti } : {}
}

/** The `aud` of the request's client assertion, when it authenticated with one. */
function assertionAudience(ctx: KoaContextWithOIDC): {
  clientAssertionAudience?: string | string[]
} {
  const assertion = ctx.oidc?.params?.client_assertion
  if (typeof assertion !== 'string') return {}
  const { aud } = decodeJwt(assertion)
  return aud === undefined ? {} : { clientAssertionAudience: aud }
}

/**
 * Starts an in-process oidc-provider 9 authorization server over plain http, with the built-in
 * clients ({@link localClients}), the demo user, login and consent pages, JWT access tokens for
 * `urn:codegrant:api`, refresh token rotation, PAR, DPoP, revocation, introspection, RP-initiated
 * and back-channel logout. For tests and the demo only.
 *
 * Decisions: profile claims are put in the ID token too (`conformIdTokenClaims: false`, unless
 * `idTokenProfileClaims: false`), so an app sees name and email without a userinfo call; `offline_access` is honoured without
 * `prompt=consent` (see `offline-access.ts`); the logout confirmation submits itself when the
 * request carried a valid `id_token_hint`; outgoing requests (back-channel logout) may reach
 * loopback addresses.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749
 * @see https://openid.net/specs/openid-connect-core-1_0.html
 */
export async function startLocalAs(options?: LocalAsOptions): Promise<LocalAs> {
  const resolved = resolveOptions(options)
  const release = captureProviderNotices(resolved.logger)
  try {
    return await start(resolved, release)
  } catch (err) {
    release()
    throw err
  }
}

async function start(resolved: ResolvedOptions, release: () => void): Promise<LocalAs> {
  const ProviderClass = await loadProvider()
  const { errors } = await import('oidc-provider')
  const { privateJwks, publicJwks } = await generateSigningKeys()

  const server: Server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  try {
    const { port } = server.address() as AddressInfo
    const hostForUrl = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host
    const url = new URL(`http://${hostForUrl}:${port}`)
    const issuer = resolved.issuer ?? url.origin

    const introspectors = new Set<string>([localClients.apiIntrospector.clientId])
    const mayIntrospect = (clientId: string, tokenClientId: unknown) =>
      introspectors.has(clientId) || clientId === tokenClientId

    const usersBySub = new Map(resolved.users.map((u) => [u.claims.sub, u]))
    const offline = createOfflineAccessTracker({
      authorization: routes.authorization,
      par: routes.pushed_authorization_request,
    })

    const configuration: Configuration = {
      clients: [...builtInClientMetadata(), ...resolved.clients.map(withOpenidScopeOnly)],
      jwks: { keys: privateJwks as NonNullable<Configuration['jwks']>['keys'] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      routes,
      // OpenID scopes only: API scopes (read:messages, ...) belong to the resource servers.
      scopes: [...openidScopes],
      claims: {
        openid: ['sub'],
        profile: [
          'name',
          'given_name',
          'family_name',
          'middle_name',
          'nickname',
          'preferred_username',
          'profile',
          'picture',
          'website',
          'gender',
          'birthdate',
          'zoneinfo',
          'locale',
          'updated_at',
        ],
        email: ['email', 'email_verified'],
        address: ['address'],
        phone: ['phone_number', 'phone_number_verified'],
      },
      conformIdTokenClaims: !resolved.idTokenProfileClaims,
      pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
      ttl: {
        ...resolved.ttl,
        // A number here would override every API's own accessTokenTTL: ask the token's API first.
        AccessToken: (_ctx, token) =>
          token.resourceServer?.accessTokenTTL ?? resolved.ttl.AccessToken,
      },
      rotateRefreshToken: () => resolved.rotateRefreshToken,
      issueRefreshToken: async (ctx, client, code) => {
        if (!client.grantTypeAllowed('refresh_token')) return false
        if (code.scopes.has('offline_access')) return true
        if (code.kind !== 'AuthorizationCode' || !code.jti || !offline.codeWantsOffline(code.jti)) {
          return false
        }
        const grant = ctx.oidc.entities.Grant
        return grant?.getOIDCScope().split(' ').includes('offline_access') === true
      },
      expiresWithSession: async (ctx, code) => {
        if (code.scopes.has('offline_access')) return false
        if (code.kind === 'AuthorizationCode' && code.jti && offline.codeWantsOffline(code.jti)) {
          const grant = ctx.oidc.entities.Grant
          if (grant?.getOIDCScope().split(' ').includes('offline_access')) return false
        }
        return true
      },
      findAccount: (_ctx, sub) => {
        const user = usersBySub.get(sub)
        if (user === undefined) return undefined
        return {
          accountId: sub,
          claims: () => ({ ...user.claims }),
        }
      },
      interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
      fetch: (input, init) => {
        // Local tests post back-channel logout tokens to loopback apps: skip the SSRF dispatcher.
        const { dispatcher, ...rest } = init as RequestInit & { dispatcher?: unknown }
        void dispatcher
        return globalThis.fetch(input, rest)
      },
      renderError: (ctx, out) => {
        ctx.type = 'html'
        ctx.body = errorPage({
          error: String(out.error),
          ...(out.error_description ? { description: String(out.error_description) } : {}),
        })
      },
      features: {
        devInteractions: { enabled: false },
        userinfo: { enabled: true },
        claimsParameter: { enabled: true },
        pushedAuthorizationRequests: { enabled: true },
        dPoP: { enabled: true },
        revocation: { enabled: true, allowedPolicy: async () => true },
        introspection: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) =>
            mayIntrospect(client.clientId, (token as { clientId?: string }).clientId),
        },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => {
            ctx.type = 'html'
            ctx.body = logoutPage({
              form,
              host: ctx.host,
              autoSubmit: ctx.oidc.entities.IdTokenHint !== undefined,
            })
          },
          postLogoutSuccessSource: (ctx) => {
            ctx.type = 'html'
            ctx.body = loggedOutPage()
          },
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx, _client, oneOf) => (oneOf?.length === 1 ? oneOf[0] : undefined),
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => {
            const api = resolved.resourceServers[resource]
            if (api === undefined) throw new errors.InvalidTarget()
            return {
              audience: resource,
              scope: api.scope,
              accessTokenFormat: api.accessTokenFormat,
              accessTokenTTL: api.accessTokenTTL ?? resolved.ttl.AccessToken,
              ...(api.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
            }
          },
        },
      },
    }

    const provider = new ProviderClass(issuer, configuration)
    if (resolved.loopbackRedirectAnyPort) allowLoopbackAnyPort(provider)
    await validateClients(provider, resolved.clients)

    const counts = new Map<string, number>()
    const events: LocalAsEvent[] = []
    const record = (event: Omit<LocalAsEvent, 'at'>) => events.push({ ...event, at: Date.now() })

    provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
      const grantType = String(ctx.oidc.params?.grant_type ?? '')
      counts.set(grantType, (counts.get(grantType) ?? 0) + 1)
      record({
        name: 'grant.success',
        grantType,
        ...(ctx.oidc.client ? { clientId: ctx.oidc.client.clientId } : {}),
        ...grantFromContext(ctx),
        ...assertionAudience(ctx),
      })
    })
    provider.on(
      'grant.error',
      (ctx: KoaContextWithOIDC, err: { error?: string; error_description?: string }) => {
        record({
          name: 'grant.error',
          grantType: String(ctx.oidc.params?.grant_type ?? ''),
          ...(ctx.oidc.client ? { clientId: ctx.oidc.client.clientId } : {}),
          ...(err.error ? { error: err.error } : {}),
          ...(err.error_description ? { errorDescription: err.error_description } : {}),
        })
      },
    )
    provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
      record({
        name: 'grant.revoked',
        grantId,
        ...(ctx.oidc?.client ? { clientId: ctx.oidc.client.clientId } : {}),
      })
    })
    provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
      record({
        name: 'end_session.success',
        ...(ctx.oidc?.client ? { clientId: ctx.oidc.client.clientId } : {}),
      })
    })
    provider.on('backchannel.success', (_ctx, client, accountId, sid) => {
      record({ name: 'backchannel.success', clientId: client.clientId, accountId, sid })
    })
    provider.on('backchannel.error', (_ctx, err: { message?: string }, client, accountId, sid) => {
      record({
        name: 'backchannel.error',
        clientId: client.clientId,
        accountId,
        sid,
        error: 'backchannel_error',
        ...(err?.message ? { errorDescription: err.message } : {}),
      })
    })
    const on = provider.on.bind(provider) as (
      name: string,
      listener: (
        ctx: KoaContextWithOIDC,
        err: { error?: string; error_description?: string },
      ) => void,
    ) => void
    for (const name of [
      'authorization.error',
      'end_session.error',
      'revocation.error',
      'introspection.error',
    ]) {
      on(name, (ctx, err) => {
        record({
          name,
          ...(ctx.oidc?.client ? { clientId: ctx.oidc.client.clientId } : {}),
          ...(err?.error ? { error: err.error } : {}),
          ...(err?.error_description ? { errorDescription: err.error_description } : {}),
        })
      })
    }
    provider.on('server_error', (_ctx: unknown, err: { message?: string }) => {
      record({
        name: 'server_error',
        error: 'server_error',
        errorDescription: String(err?.message),
      })
      resolved.logger.error?.('oidc-provider server_error', err)
    })
    // Koa prints unhandled middleware errors with console.error unless someone listens.
    ;(provider as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => {
      resolved.logger.error?.('local AS request failed', err)
    })

    provider.use(
      jwtIntrospection({ path: routes.introspection, issuer, publicJwks, mayIntrospect }),
    )
    provider.use(offline.middleware)
    provider.use(interactionRoutes(provider, resolved, offline))

    const handle = provider.callback()
    server.on('request', (req, res) => {
      void handle(req, res)
    })

    let closed: Promise<void> | undefined
    return {
      issuer,
      url,
      provider,
      signingKeys: Object.freeze({ keys: Object.freeze(publicJwks) }),
      events,
      async addClient(metadata) {
        const Client = provider.Client as unknown as {
          validate(metadata: ClientMetadata): Promise<void>
          adapter: { upsert(id: string, payload: unknown, expiresIn?: number): Promise<void> }
        }
        const payload = withOpenidScopeOnly(metadata)
        await Client.validate(payload)
        await Client.adapter.upsert(payload.client_id, { ...payload })
      },
      grantCount: (grantType) => counts.get(grantType) ?? 0,
      resetCounts() {
        counts.clear()
        events.length = 0
      },
      close() {
        closed ??= new Promise<void>((resolve, reject) => {
          server.close((err) => {
            release()
            if (err) reject(err)
            else resolve()
          })
          server.closeAllConnections()
        })
        return closed
      },
    }
  } catch (err) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    throw err
  }
}

/** Static clients are checked lazily by oidc-provider: check the extra ones now, by index. */
async function validateClients(
  provider: Provider,
  clients: readonly ClientMetadata[],
): Promise<void> {
  const Client = provider.Client as unknown as {
    validate(metadata: ClientMetadata): Promise<void>
  }
  for (const [index, metadata] of clients.entries()) {
    try {
      await Client.validate(withOpenidScopeOnly(metadata))
    } catch (err) {
      const detail = (err as { error_description?: unknown }).error_description
      throw new TypeError(
        `"clients[${index}]" is not valid client metadata${typeof detail === 'string' ? `: ${detail}` : ''}`,
        { cause: err },
      )
    }
  }
}
