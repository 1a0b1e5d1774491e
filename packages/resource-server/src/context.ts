import type { AuthInfo } from './auth-info.js'

/** What a verified token remembers of the verifier that accepted it. */
export interface AuthContext {
  /** The RFC 9728 metadata URL for `resource_metadata` in challenges, when configured. */
  readonly resourceMetadata: string | undefined
  /** Adds scopes to the verifier's `scopes_supported`. */
  register(scopes: readonly string[]): void
}

const contexts = new WeakMap<AuthInfo, AuthContext>()

/**
 * Links a verified token to its verifier, so that checks made later on it (`checkAccess()`,
 * `requireScopes()`) answer with the same challenge parameters and register their scopes.
 */
export function setAuthContext(auth: AuthInfo, context: AuthContext): AuthInfo {
  contexts.set(auth, context)
  return auth
}

/** The verifier context of a verified token, if it came from `createVerifier()`. */
export function getAuthContext(auth: AuthInfo): AuthContext | undefined {
  return contexts.get(auth)
}
