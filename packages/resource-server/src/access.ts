import type { AuthInfo } from './auth-info.js'
import { getAuthContext } from './context.js'
import { ResourceServerError, withResourceMetadata } from './errors.js'
import { resolveRequirements, type Requirements, type ResolvedRequirements } from './options.js'

/**
 * Enforces resolved requirements on a verified token: step-up first (401
 * `insufficient_user_authentication`), then scopes (403 `insufficient_scope` with the `scope`
 * attribute), then claim checks (403).
 */
export function enforceRequirements(auth: AuthInfo, req: ResolvedRequirements, now: number): void {
  const scheme = auth.tokenType
  if (req.acrValues !== undefined || req.maxAuthAge !== undefined) {
    const { acr, auth_time: authTime } = auth.claims
    const acrOk =
      req.acrValues === undefined || (typeof acr === 'string' && req.acrValues.includes(acr))
    const ageOk =
      req.maxAuthAge === undefined ||
      (typeof authTime === 'number' && now - authTime <= req.maxAuthAge)
    if (!acrOk || !ageOk)
      throw new ResourceServerError('ERR_INSUFFICIENT_USER_AUTHENTICATION', {
        scheme,
        acrValues: req.acrValues?.join(' '),
        maxAge: req.maxAuthAge,
      })
  }
  if (req.scopes.length > 0) {
    const granted = auth.scopes
    let ok: boolean
    if (req.scopeMode === 'all') {
      ok = true
      for (const scope of req.scopes) if (!granted.includes(scope)) ok = false
    } else {
      ok = false
      for (const scope of req.scopes) if (granted.includes(scope)) ok = true
    }
    if (!ok)
      throw new ResourceServerError('ERR_INSUFFICIENT_SCOPE', { scheme, scope: req.scopeAttribute })
  }
  for (const [name, check] of req.claims) {
    const value = auth.claims[name]
    let ok: boolean
    if (typeof check === 'function') {
      try {
        ok = check(value, auth.claims) === true
      } catch {
        ok = false
      }
    } else {
      ok = value === check || (Array.isArray(value) && value.includes(check))
    }
    if (!ok) throw new ResourceServerError('ERR_CLAIM_CHECK_FAILED', { scheme })
  }
}

/**
 * Checks that a verified token grants what a route needs: scopes (all or any), claims and RFC 9470
 * step-up (`acr`, `auth_time`). Throws a {@link ResourceServerError}: 403 `insufficient_scope`
 * (with the `scope` attribute) for missing scopes or failed claim checks, 401
 * `insufficient_user_authentication` (with `acr_values` / `max_age`) for step-up.
 *
 * A token from a verifier with `resourceMetadata` gets `resource_metadata` in the challenge, and
 * the scopes are added to that verifier's `scopes_supported`.
 *
 * @example checkAccess(auth, { scopes: ['read:messages'] })
 * @throws {TypeError} when the requirements are malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 RFC 9470 §3
 */
export function checkAccess(auth: AuthInfo, requirements: Requirements): void {
  const resolved = resolveRequirements(requirements)
  if (resolved === undefined) return
  const context = getAuthContext(auth)
  context?.register(resolved.scopes)
  try {
    enforceRequirements(auth, resolved, Math.floor(Date.now() / 1000))
  } catch (err) {
    const url = context?.resourceMetadata
    throw url !== undefined && err instanceof ResourceServerError
      ? withResourceMetadata(err, url)
      : err
  }
}
