import type { ClientMetadata } from 'oidc-provider'

/** Claims of a local user; `sub` is required, the rest is released by scope. */
export interface LocalUserClaims {
  readonly sub: string
  readonly [claim: string]: unknown
}

/** A user who can sign in on the local login page. */
export interface LocalUser {
  readonly username: string
  readonly password: string
  readonly claims: LocalUserClaims
}

/** A resource server (API) the local AS issues access tokens for. @see https://www.rfc-editor.org/rfc/rfc8707 */
export interface LocalResourceServer {
  /** Space-separated scopes this API accepts. */
  readonly scope: string
  /** @default 'jwt' */
  readonly accessTokenFormat?: 'jwt' | 'opaque'
  /** Seconds; overrides `ttl.AccessToken` for this API. */
  readonly accessTokenTTL?: number
}

/** Optional sink for oidc-provider's notices and for server errors. Silent by default. */
export interface LocalAsLogger {
  warn(message: string): void
  info?(message: string): void
  error?(message: string, error?: unknown): void
}

/** Lifetimes in seconds, by oidc-provider model name. */
export interface LocalAsTtl {
  AccessToken?: number
  AuthorizationCode?: number
  IdToken?: number
  RefreshToken?: number
  Session?: number
  Grant?: number
  Interaction?: number
  ClientCredentials?: number
  DeviceCode?: number
  BackchannelAuthenticationRequest?: number
}

/** Options of {@link startLocalAs}. Every option is optional. */
export interface LocalAsOptions {
  /** @default 0 (a free port) */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** @default `http://<host>:<port>` */
  issuer?: string
  /** Extra oidc-provider client metadata, registered next to the built-in clients. */
  clients?: ClientMetadata[]
  /**
   * APIs by audience. The default: `urn:codegrant:api` (JWT access tokens) and
   * `urn:codegrant:opaque-api` (opaque ones, for introspection), both with scopes
   * `read:messages write:messages`.
   */
  resourceServers?: Record<string, LocalResourceServer>
  /** Token and session lifetimes in seconds. */
  ttl?: LocalAsTtl
  /** Rotate the refresh token on every use, as Cloudentity does. @default true */
  rotateRefreshToken?: boolean
  /**
   * Put the scope's profile claims (name, email, ...) in the ID token too. `false` keeps them
   * to UserInfo when an access token is issued, as OpenID Connect Core 5.4 says and as
   * LemonLDAP::NG does. @default true
   */
  idTokenProfileClaims?: boolean
  /** @default one user: `demo` / `demo` */
  users?: LocalUser[]
  /** @default silent */
  logger?: LocalAsLogger
  /**
   * A registered `http` loopback redirect or post-logout URI (127.0.0.1, localhost, [::1])
   * matches any port, as RFC 8252 section 7.3 allows. @default true
   * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
   */
  loopbackRedirectAnyPort?: boolean
}

/** The one default user: username `demo`, password `demo`. */
export const demoUser: LocalUser = Object.freeze({
  username: 'demo',
  password: 'demo',
  claims: Object.freeze({
    sub: 'demo-user-1',
    name: 'Demo User',
    given_name: 'Demo',
    family_name: 'User',
    preferred_username: 'demo',
    email: 'demo@example.com',
    email_verified: true,
    updated_at: 1_700_000_000,
  }),
})

/** The default API audience (JWT access tokens). */
export const defaultAudience = 'urn:codegrant:api'

/**
 * A second default API whose access tokens are opaque (stateful: introspection reflects
 * revocation), for RFC 7662 introspection tests.
 */
export const opaqueAudience = 'urn:codegrant:opaque-api'

/** @internal The validated, frozen options. */
export interface ResolvedOptions {
  readonly port: number
  readonly host: string
  readonly issuer: string | undefined
  readonly clients: readonly ClientMetadata[]
  readonly resourceServers: Readonly<
    Record<
      string,
      Required<Omit<LocalResourceServer, 'accessTokenTTL'>> & { accessTokenTTL?: number }
    >
  >
  readonly ttl: Readonly<Required<LocalAsTtl>>
  readonly rotateRefreshToken: boolean
  readonly idTokenProfileClaims: boolean
  readonly users: readonly LocalUser[]
  readonly logger: LocalAsLogger
  readonly loopbackRedirectAnyPort: boolean
}

const silent: LocalAsLogger = Object.freeze({ warn() {}, info() {}, error() {} })

const defaultTtl: Required<LocalAsTtl> = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  Interaction: 3600,
  ClientCredentials: 600,
  DeviceCode: 600,
  BackchannelAuthenticationRequest: 600,
}

function positiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

/** @internal Validates the options once and applies the defaults. */
export function resolveOptions(options: LocalAsOptions = {}): ResolvedOptions {
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError('"port" must be an integer from 0 to 65535')
  }
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host.length === 0) {
    throw new TypeError('"host" must be a non-empty string')
  }
  if (options.issuer !== undefined) {
    if (typeof options.issuer !== 'string' || URL.parse(options.issuer) === null) {
      throw new TypeError('"issuer" must be an absolute URL')
    }
  }
  const ttl = { ...defaultTtl }
  for (const [name, value] of Object.entries(options.ttl ?? {})) {
    if (!(name in defaultTtl)) throw new TypeError(`"ttl.${name}" is not a known lifetime`)
    if (!positiveInteger(value)) throw new TypeError(`"ttl.${name}" must be a positive integer`)
    ttl[name as keyof LocalAsTtl] = value
  }
  const servers = options.resourceServers ?? {
    [defaultAudience]: { scope: 'read:messages write:messages' },
    [opaqueAudience]: { scope: 'read:messages write:messages', accessTokenFormat: 'opaque' },
  }
  const resourceServers: Record<string, ResolvedOptions['resourceServers'][string]> = {}
  for (const [audience, server] of Object.entries(servers)) {
    if (typeof server?.scope !== 'string') {
      throw new TypeError(`"resourceServers.${audience}.scope" must be a string`)
    }
    const format = server.accessTokenFormat ?? 'jwt'
    if (format !== 'jwt' && format !== 'opaque') {
      throw new TypeError(
        `"resourceServers.${audience}.accessTokenFormat" must be 'jwt' or 'opaque'`,
      )
    }
    if (server.accessTokenTTL !== undefined && !positiveInteger(server.accessTokenTTL)) {
      throw new TypeError(`"resourceServers.${audience}.accessTokenTTL" must be a positive integer`)
    }
    resourceServers[audience] = Object.freeze({
      scope: server.scope,
      accessTokenFormat: format,
      ...(server.accessTokenTTL === undefined ? {} : { accessTokenTTL: server.accessTokenTTL }),
    })
  }
  const users = options.users ?? [demoUser]
  for (const user of users) {
    if (typeof user?.username !== 'string' || typeof user.password !== 'string') {
      throw new TypeError('"users" entries need a string "username" and "password"')
    }
    if (typeof user.claims?.sub !== 'string' || user.claims.sub.length === 0) {
      throw new TypeError('"users" entries need a non-empty "claims.sub"')
    }
  }
  if (options.clients !== undefined && !Array.isArray(options.clients)) {
    throw new TypeError('"clients" must be an array of client metadata')
  }
  return Object.freeze({
    port,
    host,
    issuer: options.issuer,
    clients: Object.freeze([...(options.clients ?? [])]),
    resourceServers: Object.freeze(resourceServers),
    ttl: Object.freeze(ttl),
    rotateRefreshToken: options.rotateRefreshToken ?? true,
    idTokenProfileClaims: options.idTokenProfileClaims ?? true,
    users: Object.freeze([...users]),
    logger: options.logger ?? silent,
    loopbackRedirectAnyPort: options.loopbackRedirectAnyPort ?? true,
  })
}
