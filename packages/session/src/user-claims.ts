import type { IdTokenClaims } from '@codegrant/core'

/**
 * The `address` claim: the user's preferred postal address.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AddressClaim
 */
export interface AddressClaim {
  /** The full address, formatted for display (lines separated by `\n`). */
  formatted?: string
  /** Street, house number, ... (lines separated by `\n`). */
  street_address?: string
  /** City or locality. */
  locality?: string
  /** State, province, prefecture or region. */
  region?: string
  /** Zip or postal code. */
  postal_code?: string
  /** Country name. */
  country?: string
}

/**
 * `req.auth.user`: who the logged-in user is. The claims of the ID token (completed from UserInfo
 * and `afterCallback` when configured) without the protocol claims that say how the token was
 * issued (`identityClaimFilter`), with the OpenID Connect standard claims typed. What the
 * authorization server sends is not checked against these types beyond the ID token validation:
 * a server that sends `email_verified: "true"` gets it as it is.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
 */
export interface UserClaims {
  /** The subject: the user's identifier at the issuer. Always present. */
  sub: string
  name?: string
  given_name?: string
  family_name?: string
  middle_name?: string
  nickname?: string
  preferred_username?: string
  /** URL of the profile page. */
  profile?: string
  /** URL of the profile picture. */
  picture?: string
  /** URL of the web page or blog. */
  website?: string
  email?: string
  /** Whether the authorization server verified the email address. */
  email_verified?: boolean
  gender?: string
  /** `YYYY-MM-DD`, `YYYY` or `0000-MM-DD`. */
  birthdate?: string
  /** Time zone (`Europe/Paris`). */
  zoneinfo?: string
  /** BCP47 language tag (`fr-CA`). */
  locale?: string
  /** E.164 recommended (`+1 (425) 555-1212`). */
  phone_number?: string
  phone_number_verified?: boolean
  address?: AddressClaim
  /** When the profile was last updated (seconds since the epoch). */
  updated_at?: number
  /** Any other claim (custom claims of the authorization server or of `afterCallback`). */
  [claim: string]: unknown
}

/**
 * The claims kept out of `req.auth.user` by default: those OpenID Connect Core section 2 defines
 * for the ID token itself (how, when, for whom and by whom it was issued) and the hashes and
 * session id of sections 3.1.3.6, 3.3.2.11 and Front-/Back-Channel Logout. `sub` is never filtered.
 * They stay in `req.auth.idTokenClaims`, where step-up (`acr`, `amr`, `auth_time`) and claim checks
 * read them.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken
 */
export const DEFAULT_IDENTITY_CLAIM_FILTER: readonly string[] = Object.freeze([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'nonce',
  'azp',
  'auth_time',
  'acr',
  'amr',
  'at_hash',
  'c_hash',
  's_hash',
  'sid',
])

// One filtered copy per stored claim set (those are frozen and cached by the vault): reading
// `req.auth.user` repeatedly costs one copy per login or refresh, not one per read.
const filtered = new WeakMap<object, WeakMap<ReadonlySet<string>, UserClaims>>()

/**
 * `claims` without the members named in `filter` (never `sub`), frozen. Cached per claim set and
 * filter, so pass the same (stored, frozen) objects.
 */
export function userClaimsOf(claims: IdTokenClaims, filter: ReadonlySet<string>): UserClaims {
  let byFilter = filtered.get(claims)
  const hit = byFilter?.get(filter)
  if (hit !== undefined) return hit
  const user: UserClaims = { sub: claims.sub }
  for (const [name, value] of Object.entries(claims)) {
    if (name === 'sub' || filter.has(name)) continue
    // Defined, not assigned: a `__proto__` claim must stay a plain member.
    Object.defineProperty(user, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  Object.freeze(user)
  if (byFilter === undefined) filtered.set(claims, (byFilter = new WeakMap()))
  byFilter.set(filter, user)
  return user
}
