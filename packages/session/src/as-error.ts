import { isCodegrantError } from '@codegrant/core'
import { AuthError } from './errors.js'

/** Maps a failure talking to the AS outside the login callback (discovery, refresh, userinfo). */
export function asUnavailable(cause: unknown, what: string): AuthError {
  if (cause instanceof AuthError) return cause
  if (cause instanceof TypeError && !isCodegrantError(cause)) throw cause
  if (isCodegrantError(cause) && cause.code === 'ERR_CLIENT_AUTH_REFUSED') {
    return new AuthError('ERR_CLIENT_AUTH_REFUSED', `${what}: ${cause.message}`, { cause })
  }
  return new AuthError('ERR_AS_UNAVAILABLE', `${what}: the authorization server request failed`, {
    cause,
  })
}
