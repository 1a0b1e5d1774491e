import { createPrivateKey, type JsonWebKeyInput } from 'node:crypto'
import type { ClientMetadata } from 'oidc-provider'

// Every secret and key in this file is a fixed, public test value for local tests and the demo.
// Nothing here protects anything: never reuse these values against a real authorization server.

/** The redirect URIs every built-in client registers; any port matches on loopback hosts. */
export const localRedirectUris: readonly string[] = Object.freeze([
  'http://127.0.0.1/callback',
  'http://localhost/callback',
])

/** The post-logout redirect URIs every built-in client registers (any loopback port). */
export const localPostLogoutRedirectUris: readonly string[] = Object.freeze([
  'http://127.0.0.1/',
  'http://localhost/',
])

/** The scopes every built-in client may request. */
export const localClientScope = 'openid profile email offline_access read:messages write:messages'

/**
 * The private RSA key (RS256) of the `web-pkjwt` client, as a JWK, for `private_key_jwt`.
 * A fixed test key: public knowledge, for tests and the demo only.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 */
export const localClientPrivateJwk: Readonly<JsonWebKey & { kid: string; alg: string }> =
  Object.freeze({
    kty: 'RSA',
    kid: 'web-pkjwt-key-1',
    alg: 'RS256',
    use: 'sig',
    n: 'sfcvU5JfL5nrNAsuvIIPmT9F4IEunwzaGBDLMKvbXPBJgoGGTK_mafRjtmL_HYFRYNB7BDSt5kJSuxRSXtFcHqzDATQPRNR6LDukr6mKVzc2yvRDe9yHEbedZPCI3lLQU_urDHZOfFeFJ7Fk5OgZmKCCxMoiaXNyrS7k51juKkXhscNRSdPaJa3wAUP4Cqfwo-Ji70QeGWlaw3DwFIar8looYIKKVXg-atRLNJb6RgGMkJzHRO4UkhgGZNV4MRz9pNBd4m51ush54V-BVZRr5nkXb70kPVmGYsVBmIn1CHk5_mZ3oxDcwTunGnXze1onlw2_U6A950BUGZR9Dm_XYQ',
    e: 'AQAB',
    d: 'A0STddCl1vktKI-9rDWkL9ofAEbG_SHZMwtt5mcleEurlzil0hcsdIzJtEdAQYGxeu-2bpGWvDgYDk-KzVXBVV6H7H1Q_CB9sihnN1g2ONtD8jlG2vRQoPU9mo_7J2qfC4e_Gz5kkGPIB2j6aLn6rFg4MSu4CDaCktEItYHRymy7C81QOW3cmywd4iFrlJalew4yN_1oRYkdSUZpolEN9ccpu8tb2MuZ-Myz_hbhJvYUqPJnxbGwWYtm2SKzdbzoF8TOpSQAXs8DEq9vWTq4KaOEc91I3GolfLBC2DVS-xcvC6o8EqiBOWDcoJTVGfCzYP1sYDqO3FCnMdfimkVfEQ',
    p: '57AlQ9FJ1t7PskNYzGndm6C1CSlQAal_MpByn-BUrj6UK2BTrfZoTt3H_ZpKpDUoOCzv7E4k86y2pHjDiER8o0j9nK4AFANkTMi3RTPj9Rk_QR9K11tr-BvABRxN882bNL9ejqyW0k2LfV0Jh8QaGscIjGeIW_14deUQaozzxjk',
    q: 'xKPjOA2tp6elsmxuu6kcATnGa7oVvMHf4KzhJ0su1HNzRS15cevqq1bxS6TI1juOwrNT7IvKu3tMxU-rWMJEz0k_ouuBXYUbM0bRP6jqnWgNqLWVXsMv7hNPb4vjHYXs1Ew_wOwAR36AUNvDdVrKjncJLj7OIrc8vfW-h9zf2mk',
    dp: 'RNSx3Xn549oB_kW_xcrVyXxvDC-30yaV4WHEi_bLcZCp2FEfyxjfWD7PQWprLmmUb0v6Y0u78qCnCinOfVdLZ_8xSTDwWQHA9IbU27xUxuYfQquXQm-onecwntQP3JSCvaL05pIjpIrhG_dd83WxA6-JvJytiBa_iNbqj50cdxE',
    dq: 'tacoelm4eE6Y9XDSAq5AXql-sXngJtV6-dT60g_UHRLiA5_0ttbXnJzen6CEn9O5GAgNmVGyYOuQih4FDiO46Tyjet_QTBJwhDgBiauDwRGkvJuydy4dEvPnyAYUMuvLUnt10cSypVkpNIkv0TOkN2OjqYL_bnaTuHBSKLRUXzE',
    qi: 'dEIngt7fXyJ56WPbTjQo0WD8Ia_7_vaDn-7CDvUeKS86bKl8EzpY8tpoaLr5yg3vtVB079pEzopZXlbzfzCvw6t2HbpZBbEc9S1_Gz2PqNCtbrlfRq7C1WNkJCebcMc-fMGuzuq6JdkAc7Df9nohz1-7JD4az3rpt1kAGhyHM3c',
  })

/** The same private key as {@link localClientPrivateJwk}, as a PKCS#8 PEM string. */
export const localClientPrivatePem: string = createPrivateKey({
  key: { ...localClientPrivateJwk } as JsonWebKeyInput['key'],
  format: 'jwk',
})
  .export({ format: 'pem', type: 'pkcs8' })
  .toString()

const { d, p, q, dp, dq, qi, ...localClientPublicJwk } = localClientPrivateJwk
void [d, p, q, dp, dq, qi]

/** One built-in client: its id, secret (if any) and authentication method. */
export interface LocalClient {
  readonly clientId: string
  readonly clientSecret?: string
  readonly tokenEndpointAuthMethod: string
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly scope: string
}

const common = {
  redirectUris: localRedirectUris,
  postLogoutRedirectUris: localPostLogoutRedirectUris,
  scope: localClientScope,
} as const

/**
 * The built-in clients, by name. `webBasic` is the one the web app example and the demo use.
 * Fixed test credentials: public knowledge, for local tests and the demo only.
 */
export const localClients = Object.freeze({
  webBasic: Object.freeze({
    clientId: 'web-basic',
    clientSecret: 'web-basic-secret-for-local-tests-only',
    tokenEndpointAuthMethod: 'client_secret_basic',
    ...common,
  }),
  webPost: Object.freeze({
    clientId: 'web-post',
    clientSecret: 'web-post-secret-for-local-tests-only',
    tokenEndpointAuthMethod: 'client_secret_post',
    ...common,
  }),
  webJwt: Object.freeze({
    clientId: 'web-jwt',
    clientSecret: 'web-jwt-secret-for-local-tests-only-0123456789abcdef',
    tokenEndpointAuthMethod: 'client_secret_jwt',
    ...common,
  }),
  webPkjwt: Object.freeze({
    clientId: 'web-pkjwt',
    tokenEndpointAuthMethod: 'private_key_jwt',
    ...common,
  }),
  publicClient: Object.freeze({
    clientId: 'public-client',
    tokenEndpointAuthMethod: 'none',
    ...common,
  }),
  webPar: Object.freeze({
    clientId: 'web-par',
    clientSecret: 'web-par-secret-for-local-tests-only',
    tokenEndpointAuthMethod: 'client_secret_basic',
    ...common,
  }),
  webDpop: Object.freeze({
    clientId: 'web-dpop',
    clientSecret: 'web-dpop-secret-for-local-tests-only',
    tokenEndpointAuthMethod: 'client_secret_basic',
    ...common,
  }),
  apiIntrospector: Object.freeze({
    clientId: 'api-introspector',
    clientSecret: 'api-introspector-secret-for-local-tests-only',
    tokenEndpointAuthMethod: 'client_secret_basic',
    redirectUris: [],
    postLogoutRedirectUris: [],
    scope: '',
  }),
} satisfies Record<string, LocalClient>)

function webMetadata(client: LocalClient, extra: Partial<ClientMetadata> = {}): ClientMetadata {
  return {
    client_id: client.clientId,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    token_endpoint_auth_method:
      client.tokenEndpointAuthMethod as ClientMetadata['token_endpoint_auth_method'],
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: client.scope,
    ...extra,
  }
}

/** The oidc-provider metadata of every built-in client. */
export function builtInClientMetadata(): ClientMetadata[] {
  return (
    [
      webMetadata(localClients.webBasic, { client_name: 'codegrant demo web app' }),
      webMetadata(localClients.webPost),
      webMetadata(localClients.webJwt),
      webMetadata(localClients.webPkjwt, { jwks: { keys: [{ ...localClientPublicJwk }] } }),
      webMetadata(localClients.publicClient),
      webMetadata(localClients.webPar, { require_pushed_authorization_requests: true }),
      webMetadata(localClients.webDpop, { dpop_bound_access_tokens: true }),
      {
        client_id: localClients.apiIntrospector.clientId,
        client_secret: localClients.apiIntrospector.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [],
        grant_types: [],
        response_types: [],
      },
    ] satisfies ClientMetadata[]
  ).map(withOpenidScopeOnly)
}

/** @internal The OpenID scopes the local AS knows; API scopes belong to resource servers. */
export const openidScopes: readonly string[] = Object.freeze([
  'openid',
  'offline_access',
  'profile',
  'email',
  'address',
  'phone',
])

/**
 * @internal oidc-provider accepts only its OpenID scopes in a client's `scope` metadata; API
 * scopes (read:messages, ...) are granted by the resource servers. Drops the latter, so that
 * metadata listing every scope a client may request (like {@link localClientScope}) is accepted.
 */
export function withOpenidScopeOnly(metadata: ClientMetadata): ClientMetadata {
  if (typeof metadata.scope !== 'string') return metadata
  const scope = metadata.scope
    .split(' ')
    .filter((s) => openidScopes.includes(s))
    .join(' ')
  return { ...metadata, scope }
}
