import { fetchUserInfo, type Client, type IdTokenClaims, type TokenSet } from '@codegrant/core'

/**
 * The standard claims each OpenID Connect scope asks for.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
 */
const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
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
}

/**
 * Claims that only a validated ID token may set: identity, audience, lifetime, the session and
 * how the user authenticated (step-up and back-channel logout rely on them). UserInfo never
 * supplies or overrides these.
 */
export const ID_TOKEN_ONLY: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'nonce',
  'azp',
  'at_hash',
  'c_hash',
  's_hash',
  'acr',
  'amr',
  'auth_time',
  'sid',
])

/**
 * Whether the ID token lacks the claims of a scope the login asked for: for at least one of
 * `profile`, `email`, `address`, `phone` in `scope`, none of its claims is in the ID token.
 */
export function lacksScopeClaims(scope: string, claims: IdTokenClaims): boolean {
  return scope
    .split(' ')
    .some((s) => SCOPE_CLAIMS[s]?.every((claim) => claims[claim] === undefined) === true)
}

/** The claims of a login: the ID token's, completed from UserInfo; the UserInfo response if fetched. */
export interface CompletedClaims {
  readonly claims: IdTokenClaims
  readonly userInfo: Readonly<Record<string, unknown>> | undefined
}

/**
 * The ID token claims completed from the UserInfo endpoint when they lack what the scope asked
 * for and the AS has one (LemonLDAP::NG, and any AS that follows OpenID Connect Core 5.4 to the
 * letter, returns name and email only there). Core checks that UserInfo's `sub` is the ID
 * token's. The ID token's claims always win; the claims in {@link ID_TOKEN_ONLY} never come
 * from UserInfo. Also returns the UserInfo response when it was fetched.
 *
 * @throws CodegrantError from {@link fetchUserInfo} (`ERR_USERINFO_SUB_MISMATCH`, ...)
 */
export async function completeClaims(
  client: Client,
  tokens: TokenSet,
  claims: IdTokenClaims,
  scope: string,
): Promise<CompletedClaims> {
  if (typeof client.metadata.userinfo_endpoint !== 'string') return { claims, userInfo: undefined }
  if (!lacksScopeClaims(scope, claims)) return { claims, userInfo: undefined }
  const userInfo = await fetchUserInfo(client, tokens, claims.sub)
  return { claims: keepUserInfoClaims(claims, userInfo), userInfo }
}

/**
 * `claims` (a validated ID token's) plus the members of `extra` it lacks, never those in
 * {@link ID_TOKEN_ONLY}. At login `extra` is the UserInfo response; after a refresh that brought
 * a new ID token, it is the user's previous claims, so what UserInfo gave at login stays.
 */
export function keepUserInfoClaims(
  claims: IdTokenClaims,
  extra: Readonly<Record<string, unknown>>,
): IdTokenClaims {
  const completed: IdTokenClaims = { ...claims }
  for (const [name, value] of Object.entries(extra)) {
    if (ID_TOKEN_ONLY.has(name) || Object.hasOwn(completed, name)) continue
    // Defined, not assigned: a `__proto__` member of the JSON must stay a plain claim.
    Object.defineProperty(completed, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return completed
}
