import { enforceRequirements } from './access.js'
import type { AuthInfo } from './auth-info.js'
import { getAuthContext, type AuthContext } from './context.js'
import { ResourceServerError, withResourceMetadata } from './errors.js'
import type { VerifyRequest } from './extract.js'
import {
  resolveRequirements,
  type Requirements,
  type ResolvedRequirements,
  type VerifierOptions,
} from './options.js'
import { createVerifier, getInternals, type Verifier } from './verifier.js'

/**
 * Options of a framework adapter's `requireToken()`: verifier options, or a verifier made by
 * `createVerifier()` with what this route needs (its scopes are registered in the verifier's
 * protected resource metadata, so `scopes_supported` and the 403 `scope=` agree).
 */
export type RequireTokenOptions = VerifierOptions | ({ verifier: Verifier } & Requirements)

/**
 * What an adapter's route guard runs: the framework-agnostic part of `requireToken()`, so that
 * every adapter resolves options, registers scopes and picks the cached path the same way.
 *
 * @internal
 */
export interface Guard {
  /** The verifier the guard uses (made from the options, or the one given). */
  readonly verifier: Verifier
  /**
   * The synchronous cache-hit path: the {@link AuthInfo} of a Bearer token verified before, or
   * undefined when {@link verify} is needed. Throws what {@link verify} would throw.
   */
  fastPath(request: VerifyRequest): AuthInfo | undefined
  /** The full verification with this guard's requirements. */
  verify(request: VerifyRequest): Promise<AuthInfo>
}

/**
 * Resolves `requireToken()` options once: makes the verifier (or takes the given one), validates
 * the route requirements and registers their scopes now.
 *
 * @throws {TypeError} for a bad option, a `verifier` that is not one, or route requirements on
 *   a verifier not made by `createVerifier()`.
 * @internal
 */
export function createGuard(options: RequireTokenOptions): Guard {
  const shared = typeof options === 'object' && options !== null && 'verifier' in options
  const verifier = shared ? options.verifier : createVerifier(options)
  if (typeof verifier?.verify !== 'function') throw new TypeError('"verifier" must be a Verifier')
  const internals = getInternals(verifier)
  let route: ResolvedRequirements | undefined
  let requirements: Requirements | undefined
  if (shared) {
    const { verifier: _, ...rest } = options
    requirements = rest
    if (internals !== undefined) route = internals.state.requirementsOf(rest)
    else if (resolveRequirements(rest) !== undefined)
      throw new TypeError('route requirements need a verifier made by createVerifier()')
  }
  if (internals === undefined)
    return Object.freeze({
      verifier,
      fastPath: () => undefined,
      verify: (request: VerifyRequest) => verifier.verify(request, requirements),
    })
  return Object.freeze({
    verifier,
    fastPath: (request: VerifyRequest) => internals.fastPath(request, route),
    verify: (request: VerifyRequest) => internals.verify(request, route),
  })
}

/**
 * Builds the check of a guard that runs after `requireToken()` (`requireScopes()`,
 * `requireAccess()`): it throws a {@link ResourceServerError} when the request has no verified
 * token (401) or the token does not meet `requirements`, with `resource_metadata` in the
 * challenge when the verifier has it. The scopes are registered in the verifier's metadata on
 * the first token seen (the verifier is known only then).
 *
 * @param name the guard's name, for the `TypeError` of empty requirements
 * @throws {TypeError} when `requirements` are malformed or empty.
 * @internal
 */
export function createAccessCheck(
  requirements: Requirements,
  name: string,
): (auth: AuthInfo | undefined) => void {
  const resolved = resolveRequirements(requirements)
  if (resolved === undefined) throw new TypeError(`${name} needs at least one requirement`)
  const registered = new WeakSet<AuthContext>()
  return function checkRequirements(auth: AuthInfo | undefined): void {
    if (auth === undefined) throw new ResourceServerError('ERR_TOKEN_MISSING', { realm: 'api' })
    const context = getAuthContext(auth)
    if (context !== undefined && !registered.has(context)) {
      registered.add(context)
      context.register(resolved.scopes)
    }
    try {
      enforceRequirements(auth, resolved, Date.now() / 1000)
    } catch (err) {
      const url = context?.resourceMetadata
      throw url !== undefined && err instanceof ResourceServerError
        ? withResourceMetadata(err, url)
        : err
    }
  }
}
