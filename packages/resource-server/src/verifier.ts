import { LruCache } from '@codegrant/internal'
import { enforceRequirements } from './access.js'
import { createAuthInfo, type AuthInfo } from './auth-info.js'
import { EndpointSource } from './discovery.js'
import { setAuthContext, type AuthContext } from './context.js'
import { checkDpopProof, ReplayGuard } from './dpop.js'
import {
  ResourceServerError,
  withResourceMetadata,
  type ResourceServerErrorCode,
} from './errors.js'
import { B64TOKEN, extractToken, malformedToken, type VerifyRequest } from './extract.js'
import { Introspector } from './introspection.js'
import { JwksStore, type ImportedKey } from './jwks.js'
import { decodeJsonObject, isCompactJws, verifyHmac, verifySignature } from './jws.js'
import { checkClaims, checkHeader, checkTimes, checkType } from './jwt-checks.js'
import { checkCertificateBinding } from './mtls.js'
import {
  normalizeIssuer,
  resolveOptions,
  resolveRequirements,
  type Requirements,
  type ResolvedIssuer,
  type ResolvedOptions,
  type ResolvedRequirements,
  type VerifierOptions,
} from './options.js'

/** Verifies the access token of a request. Create one per API and share it. */
export interface Verifier {
  /**
   * Extracts, verifies and authorizes the access token of a request. Resolves to the frozen
   * {@link AuthInfo}; rejects with a {@link ResourceServerError} that carries the HTTP status and
   * `WWW-Authenticate` challenge to answer with.
   *
   * @param requirements what this route needs on top of the verifier's own requirements (its
   *   scopes are added to the protected resource metadata's `scopes_supported`); pass the same
   *   object each time, it is validated once
   */
  verify(request: VerifyRequest, requirements?: Requirements): Promise<AuthInfo>
}

/** A verified token, as the cache keeps it. Time claims are re-checked on every use. */
interface Verified {
  readonly token: string
  readonly refused: undefined
  readonly auth: AuthInfo
  readonly exp: number | undefined
  readonly nbf: number | undefined
  readonly iat: number | undefined
  readonly jkt: string | undefined
  readonly x5t: string | undefined
  /** The JWKS key that verified it: a refresh that drops the key ends the cached verification. */
  readonly key: ImportedKey | undefined
  /** Milliseconds: when the entry must be checked again (introspection results). */
  readonly staleAt: number
}

/** A token the introspection endpoint called inactive, remembered briefly. */
interface Refused {
  readonly token: string
  readonly refused: ResourceServerErrorCode
  readonly key: undefined
  readonly staleAt: number
}

type Entry = Verified | Refused

/**
 * The cache key of a token: for a JWS whose signature segment is long enough, its last 43
 * characters (256 bits of signature, cheap to hash); otherwise the whole token. A hit must also
 * match the whole token, so two tokens sharing a key only evict each other.
 */
function cacheKey(token: string): string {
  const n = token.length
  return n > 96 && token.lastIndexOf('.') < n - 43 ? token.slice(n - 43) : token
}

/** One trusted issuer: its own discovery, JWKS cache and cooldown. */
interface IssuerState {
  readonly issuer: ResolvedIssuer
  readonly endpoints: EndpointSource
  readonly jwks: JwksStore
}

class VerifierState {
  readonly issuers: readonly IssuerState[]
  /** By configured issuer and by `new URL(issuer).href`. */
  private readonly byIss = new Map<string, IssuerState>()
  readonly introspector: Introspector | undefined
  readonly cache: LruCache<string, Entry> | undefined
  readonly inflight = new Map<string, Promise<Verified>>()
  readonly replay: ReplayGuard
  /** Scopes registered by route requirements, for `scopes_supported`, in order. */
  readonly scopes = new Set<string>()
  /** Bumped on each registration (the metadata document is rebuilt then). */
  scopesVersion = 0
  readonly routeRequirements = new WeakMap<Requirements, ResolvedRequirements | undefined>()
  readonly context: AuthContext

  constructor(readonly options: ResolvedOptions) {
    this.issuers = options.issuers.map((issuer) => {
      const endpoints = new EndpointSource(options, issuer)
      return { issuer, endpoints, jwks: new JwksStore(options, endpoints) }
    })
    for (const state of this.issuers) {
      this.byIss.set(state.issuer.issuer, state)
      this.byIss.set(state.issuer.href, state)
    }
    const primary = this.issuers[0]!
    this.introspector =
      options.introspection === undefined
        ? undefined
        : new Introspector(options, options.introspection, primary.endpoints)
    this.cache = options.cacheMaxEntries > 0 ? new LruCache(options.cacheMaxEntries) : undefined
    this.replay = new ReplayGuard(options)
    for (const scope of options.resourceMetadata?.scopes ?? []) this.scopes.add(scope)
    this.context = Object.freeze({
      resourceMetadata: options.resourceMetadata?.url.href,
      register: (scopes: readonly string[]) => this.register(scopes),
    })
  }

  /** The trusted issuer a token's `iss` names, without any network call; undefined if none. */
  issuerFor(iss: unknown): IssuerState | undefined {
    if (typeof iss !== 'string') return undefined
    const exact = this.byIss.get(iss)
    if (exact !== undefined) return exact
    const href = normalizeIssuer(iss)
    return href === undefined ? undefined : this.byIss.get(href)
  }

  register(scopes: readonly string[]): void {
    for (const scope of scopes)
      if (!this.scopes.has(scope)) {
        this.scopes.add(scope)
        this.scopesVersion++
      }
  }

  /** Validates a route's requirements once (by object identity) and registers their scopes. */
  requirementsOf(requirements: Requirements): ResolvedRequirements | undefined {
    if (this.routeRequirements.has(requirements)) return this.routeRequirements.get(requirements)
    const resolved = resolveRequirements(requirements)
    if (resolved !== undefined) this.register(resolved.scopes)
    this.routeRequirements.set(requirements, resolved)
    return resolved
  }
}

function toVerified(
  auth: AuthInfo,
  key: ImportedKey | undefined,
  staleAt: number,
  times: { exp: number | undefined; nbf: number | undefined; iat: number | undefined },
): Verified {
  const cnf = auth.claims.cnf as Record<string, unknown> | undefined
  const jkt = typeof cnf === 'object' && cnf !== null ? cnf.jkt : undefined
  const x5t = typeof cnf === 'object' && cnf !== null ? cnf['x5t#S256'] : undefined
  if (
    (jkt !== undefined && typeof jkt !== 'string') ||
    (x5t !== undefined && typeof x5t !== 'string')
  )
    throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
      description: 'The access token "cnf" claim is invalid',
    })
  return {
    token: auth.token,
    refused: undefined,
    auth,
    exp: times.exp,
    nbf: times.nbf,
    iat: times.iat,
    jkt,
    x5t,
    key,
    staleAt,
  }
}

/** Verifies a JWT access token locally: header, key, signature, then claims. */
async function verifyJwt(state: VerifierState, token: string): Promise<Verified> {
  const { options } = state
  const dot1 = token.indexOf('.')
  const dot2 = token.lastIndexOf('.')
  const header = decodeJsonObject(token.slice(0, dot1))
  if (header === undefined) throw new ResourceServerError('ERR_TOKEN_MALFORMED')
  const alg = checkHeader(header, options)
  const claims = decodeJsonObject(token.slice(dot1 + 1, dot2))
  if (claims === undefined) throw new ResourceServerError('ERR_TOKEN_MALFORMED')
  // The issuer is chosen by `iss` before any key is looked up: an unknown one costs no request.
  // The signature check below proves the claim. (A token without `iss` is refused after it.)
  const issuer =
    state.issuerFor(claims.iss) ??
    (claims.iss === undefined && state.issuers.length === 1 ? state.issuers[0] : undefined)
  if (issuer === undefined)
    throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
      description: 'The access token "iss" claim is missing or invalid',
    })
  const signingInput = token.slice(0, dot2)
  const signature = Buffer.from(token.slice(dot2 + 1), 'base64url')
  let key: ImportedKey | undefined
  if (alg.charCodeAt(0) === 72 /* H */) {
    if (!verifyHmac(alg, options.secret!, signingInput, signature))
      throw new ResourceServerError('ERR_TOKEN_SIGNATURE')
  } else {
    const kid = header.kid as string | undefined
    const keys = issuer.jwks.lookup(kid, alg) ?? (await issuer.jwks.resolve(kid, alg))
    let tried = false
    for (const candidate of keys) {
      const params = candidate.params.get(alg)
      if (params === undefined) continue
      tried = true
      if (await verifySignature(params, signingInput, signature)) {
        key = candidate
        break
      }
    }
    if (!tried) throw new ResourceServerError('ERR_TOKEN_KEY_NOT_FOUND')
    if (key === undefined) throw new ResourceServerError('ERR_TOKEN_SIGNATURE')
  }
  checkType(header, options)
  if (claims.iss === undefined)
    throw new ResourceServerError('ERR_TOKEN_CLAIM_INVALID', {
      description: 'The access token "iss" claim is missing or invalid',
    })
  const times = checkClaims(claims, Date.now() / 1000, options)
  const tokenType = hasJkt(claims) ? 'DPoP' : 'Bearer'
  const auth = createAuthInfo(token, 'jwt', tokenType, claims, header, options.scopeClaims)
  return toVerified(auth, key, Number.POSITIVE_INFINITY, times)
}

function hasJkt(claims: Record<string, unknown>): boolean {
  const cnf = claims.cnf
  return (
    typeof cnf === 'object' && cnf !== null && (cnf as Record<string, unknown>).jkt !== undefined
  )
}

/** Verifies an opaque token by introspection; active results are kept at most `cacheTtl`. */
async function verifyOpaque(state: VerifierState, token: string): Promise<Verified> {
  const introspection = state.options.introspection!
  let claims: Record<string, unknown>
  try {
    claims = await state.introspector!.introspect(token)
  } catch (err) {
    if (
      state.cache !== undefined &&
      err instanceof ResourceServerError &&
      err.status === 401 &&
      introspection.negativeCacheTtl > 0
    ) {
      const staleAt = Date.now() + introspection.negativeCacheTtl * 1000
      state.cache.set(
        cacheKey(token),
        { token, refused: err.code, key: undefined, staleAt },
        staleAt,
      )
    }
    throw err
  }
  const exp = claims.exp as number | undefined
  const times = {
    exp,
    nbf: claims.nbf as number | undefined,
    iat: claims.iat as number | undefined,
  }
  checkTimes(times.exp, times.nbf, times.iat, Date.now() / 1000, state.options)
  const staleAt = Math.min(
    Date.now() + introspection.cacheTtl * 1000,
    exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000,
  )
  const tokenType = hasJkt(claims) ? 'DPoP' : 'Bearer'
  const auth = createAuthInfo(
    token,
    'opaque',
    tokenType,
    claims,
    undefined,
    state.options.scopeClaims,
  )
  return toVerified(auth, undefined, staleAt, times)
}

function validate(state: VerifierState, token: string, jwt: boolean): Promise<Verified> {
  const { options } = state
  if (state.introspector === undefined) {
    if (!jwt) return Promise.reject(new ResourceServerError('ERR_TOKEN_MALFORMED'))
    return verifyJwt(state, token)
  }
  // Hybrid: JWTs locally (unless every token is introspected), anything else by introspection.
  if (jwt && !options.introspection!.allTokens) {
    const header = decodeJsonObject(token.slice(0, token.indexOf('.')))
    if (header !== undefined && typeof header.alg === 'string') return verifyJwt(state, token)
  }
  return verifyOpaque(state, token)
}

/** One verification per token at a time; the result is cached until the token's `exp`. */
function validateOnce(state: VerifierState, token: string, jws: boolean): Promise<Verified> {
  const running = state.inflight.get(token)
  if (running !== undefined) return running
  const promise = validate(state, token, jws).then(
    (verified) => {
      state.inflight.delete(token)
      setAuthContext(verified.auth, state.context)
      state.cache?.set(cacheKey(token), verified, verified.staleAt)
      return verified
    },
    (err: unknown) => {
      state.inflight.delete(token)
      throw err
    },
  )
  state.inflight.set(token, promise)
  return promise
}

/** The cached verification of `token`, if any; throws a remembered refusal. */
function lookup(state: VerifierState, token: string): Verified | undefined {
  const cache = state.cache
  if (cache === undefined) return undefined
  const key = cacheKey(token)
  const entry = cache.get(key)
  if (entry === undefined || entry.token !== token) return undefined
  // The cache drops an entry from its `staleAt` on; a revoked key ends it earlier.
  if (entry.key?.revoked === true) {
    cache.delete(key)
    return undefined
  }
  if (entry.refused !== undefined) throw new ResourceServerError(entry.refused)
  return entry
}

/** The checks every request makes, cached or not: time claims, binding, requirements. */
function accept(
  state: VerifierState,
  verified: Verified,
  request: VerifyRequest,
  scheme: 'Bearer' | 'DPoP',
  route: ResolvedRequirements | undefined,
): AuthInfo {
  const { options } = state
  const now = Date.now() / 1000
  checkTimes(verified.exp, verified.nbf, verified.iat, now, options)
  if (verified.jkt === undefined && (scheme === 'DPoP' || options.dpop.required))
    throw new ResourceServerError('ERR_TOKEN_BINDING', {
      description: 'The access token is not DPoP-bound',
    })
  if (verified.x5t !== undefined) checkCertificateBinding(verified.x5t, request.clientCertificate)
  if (options.requirements !== undefined)
    enforceRequirements(verified.auth, options.requirements, now)
  if (route !== undefined) enforceRequirements(verified.auth, route, now)
  return verified.auth
}

async function verifyRequest(
  state: VerifierState,
  request: VerifyRequest,
  token: string,
  scheme: 'Bearer' | 'DPoP',
  route: ResolvedRequirements | undefined,
): Promise<AuthInfo> {
  let verified = lookup(state, token)
  if (verified === undefined) {
    // A compact JWS is a b64token too: one scan of the token for the common case.
    const jws = isCompactJws(token)
    if (!jws && !B64TOKEN.test(token)) throw malformedToken()
    verified = await validateOnce(state, token, jws)
  }
  if (verified.jkt !== undefined) {
    if (scheme !== 'DPoP')
      throw new ResourceServerError('ERR_TOKEN_BINDING', {
        description: 'A DPoP-bound access token must be sent with the DPoP scheme',
      })
    checkTimes(verified.exp, verified.nbf, verified.iat, Date.now() / 1000, state.options)
    await checkDpopProof(
      request.headers.dpop,
      request.method,
      request.url,
      token,
      verified.jkt,
      state.options,
      state.replay,
    )
  }
  return accept(state, verified, request, scheme, route)
}

/**
 * The synchronous fast path: the {@link AuthInfo} of an already verified Bearer token without
 * sender constraint, or undefined when the full (asynchronous) path is needed. Throws what the
 * full path would throw for the same request.
 */
function verifyCached(
  state: VerifierState,
  request: VerifyRequest,
  route: ResolvedRequirements | undefined,
): AuthInfo | undefined {
  const { token, scheme } = extractToken(request, state.options)
  if (scheme !== 'Bearer') return undefined
  const verified = lookup(state, token)
  if (verified === undefined || verified.jkt !== undefined || verified.x5t !== undefined)
    return undefined
  return accept(state, verified, request, scheme, route)
}

/** What the Express adapter and the metadata handler need of a verifier. */
export interface VerifierInternals {
  readonly options: ResolvedOptions
  readonly state: VerifierState
  /** The synchronous cache-hit path (no promise); throws what the full path would. */
  fastPath(request: VerifyRequest, route: ResolvedRequirements | undefined): AuthInfo | undefined
  /** The full path with pre-resolved route requirements. */
  verify(request: VerifyRequest, route: ResolvedRequirements | undefined): Promise<AuthInfo>
}

const internals = new WeakMap<Verifier, VerifierInternals>()

/**
 * @internal The internals of a verifier made by {@link createVerifier}, or undefined for any
 * other verifier.
 */
export function getInternals(verifier: Verifier): VerifierInternals | undefined {
  return internals.get(verifier)
}

/**
 * The refusal as the client must see it: a DPoP challenge to a DPoP request (RFC 9449 §7.1),
 * and `resource_metadata` when the verifier has RFC 9728 metadata.
 */
function finish(err: unknown, state: VerifierState, scheme: 'Bearer' | 'DPoP'): unknown {
  if (!(err instanceof ResourceServerError) || err.status >= 500) return err
  const url = state.context.resourceMetadata
  const challenge = err.headers['www-authenticate']
  const rescheme = scheme === 'DPoP' && challenge !== undefined && !challenge.startsWith('DPoP')
  if (rescheme)
    return new ResourceServerError(err.code, {
      description: err.description,
      cause: err.cause,
      scheme: 'DPoP',
      algs: state.options.dpop.algs,
      dpopNonce: err.challenge.dpopNonce,
      resourceMetadata: url,
    })
  return url === undefined ? err : withResourceMetadata(err, url)
}

/**
 * Creates a verifier for one API. Options are validated once (a bad one throws a `TypeError`
 * naming it); nothing is fetched until the first request, so an API can start while its
 * authorization server is down.
 *
 * Verification: the token is taken from the request (see {@link VerifyRequest}); a JWT is
 * checked locally (algorithm allow-list, key from the JWKS, signature with node:crypto,
 * `iss`/`aud`/`exp`/`nbf`/`iat`, `typ`, no ID tokens), an opaque token by introspection when
 * configured; sender constraints (DPoP, mTLS) and the configured requirements are enforced.
 * Verified tokens are cached until they expire; time claims are re-checked on every request.
 *
 * @example
 * const verifier = createVerifier({ issuer: 'https://as.example.com', audience: 'https://api.example.com' })
 * const auth = await verifier.verify({ headers: req.headers, method: req.method, url })
 * @see https://www.rfc-editor.org/rfc/rfc6750 RFC 6750
 * @see https://www.rfc-editor.org/rfc/rfc9068 RFC 9068
 * @see https://www.rfc-editor.org/rfc/rfc8725 RFC 8725
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const state = new VerifierState(resolveOptions(options))

  function run(request: VerifyRequest, route: ResolvedRequirements | undefined): Promise<AuthInfo> {
    let extracted
    try {
      extracted = extractToken(request, state.options)
    } catch (err) {
      return Promise.reject(finish(err, state, 'Bearer') as Error)
    }
    const { token, scheme } = extracted
    return verifyRequest(state, request, token, scheme, route).catch((err: unknown) =>
      Promise.reject(finish(err, state, scheme) as Error),
    )
  }

  const verifier: Verifier = Object.freeze({
    verify(request: VerifyRequest, requirements?: Requirements): Promise<AuthInfo> {
      let route: ResolvedRequirements | undefined
      if (requirements !== undefined) {
        try {
          route = state.requirementsOf(requirements)
        } catch (err) {
          return Promise.reject(err as Error)
        }
      }
      return run(request, route)
    },
  })
  internals.set(
    verifier,
    Object.freeze({
      options: state.options,
      state,
      fastPath(request: VerifyRequest, route: ResolvedRequirements | undefined) {
        try {
          return verifyCached(state, request, route)
        } catch (err) {
          throw finish(err, state, 'Bearer')
        }
      },
      verify: run,
    }),
  )
  return verifier
}

/**
 * Runs discovery and loads the signing keys of every issuer now, instead of at the first request:
 * for a start-up check that names a misconfiguration at once. Rejects with the first
 * {@link ResourceServerError} met: `ERR_ISSUER_MISMATCH` (its `cause` message gives the expected
 * and the found issuer), `ERR_DISCOVERY_FAILED` or `ERR_KEYS_UNAVAILABLE` (the authorization
 * server may just be down: requests then answer 503 until it is back).
 *
 * @example await warmUp(verifier).catch((err) => console.error(err.cause?.message))
 */
export async function warmUp(verifier: Verifier): Promise<void> {
  const internals = internals_(verifier)
  const needsKeys = [...internals.options.algorithms].some((alg) => !alg.startsWith('HS'))
  for (const issuer of internals.state.issuers) {
    await issuer.endpoints.get()
    if (needsKeys) await issuer.jwks.warm()
  }
}

function internals_(verifier: Verifier): VerifierInternals {
  const found = internals.get(verifier)
  if (found === undefined)
    throw new TypeError('"verifier" must be a verifier made by createVerifier()')
  return found
}
