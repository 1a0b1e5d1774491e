import type { LoginParams } from './login.js'
import type { LogoutParams } from './logout.js'
import type { ResolvedOptions } from './options.js'
import { safeReturnTo } from './return-to.js'

/**
 * Options of a login started from the app's code (`login(req, res, options)` of the adapter),
 * for a login route turned off (`routes.login: false`) or a login page of the app's own.
 */
export interface LoginOptions {
  /**
   * Where to go after the login: a same-origin relative path, under the same rules as
   * `/login?returnTo=` (anything else falls back to `defaultReturnTo`). @default `defaultReturnTo`
   */
  returnTo?: string
  /**
   * Authorization request parameters for this login, over `authorizationParams` of the options
   * (`prompt`, `login_hint`, `ui_locales`, `acr_values`, `max_age`, `scope`, ...). The protocol
   * parameters the library controls (`state`, `nonce`, PKCE, `redirect_uri`, ...) are refused.
   */
  authorizationParams?: Readonly<Record<string, string>>
}

/** Options of a logout started from the app's code (`logout(req, res, options)` of the adapter). */
export interface LogoutOptions {
  /**
   * Where to go after a local logout, or when the AS has no end_session_endpoint: a same-origin
   * relative path (anything else falls back to `logoutReturnTo`). After a logout at the AS, the
   * browser comes back to `postLogoutRedirectUri`. @default `logoutReturnTo`
   */
  returnTo?: string
  /** End the local session only, not the AS's. @default the `localLogout` option */
  localLogout?: boolean
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

function checkKeys(options: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${what}: unknown option ${JSON.stringify(key.slice(0, 80))} (known: ${known.map((k) => `"${k}"`).join(', ')})`,
      )
    }
  }
}

/**
 * The parameters of a login started from the app's code, checked: `returnTo` under the rules of
 * the login route, `authorizationParams` an object of strings.
 *
 * @throws TypeError for a misuse, naming the option (`login(): "authorizationParams" ...`).
 */
export function loginParams(config: ResolvedOptions, options: LoginOptions = {}): LoginParams {
  if (!isObject(options)) throw new TypeError('login(): "options" must be an object')
  checkKeys(options, ['returnTo', 'authorizationParams'], 'login()')
  const params = options.authorizationParams
  if (
    params !== undefined &&
    (!isObject(params) || !Object.values(params).every((v) => typeof v === 'string'))
  ) {
    throw new TypeError('login(): "authorizationParams" must be an object of strings')
  }
  return {
    returnTo: safeReturnTo(options.returnTo) ?? config.defaultReturnTo,
    ...(params !== undefined
      ? { authorizationParams: Object.freeze({ ...(params as Record<string, string>) }) }
      : {}),
  }
}

/**
 * The parameters of a logout started from the app's code, checked.
 *
 * @throws TypeError for a misuse, naming the option (`logout(): "localLogout" ...`).
 */
export function logoutParams(config: ResolvedOptions, options: LogoutOptions = {}): LogoutParams {
  if (!isObject(options)) throw new TypeError('logout(): "options" must be an object')
  checkKeys(options, ['returnTo', 'localLogout'], 'logout()')
  if (options.localLogout !== undefined && typeof options.localLogout !== 'boolean') {
    throw new TypeError('logout(): "localLogout" must be a boolean')
  }
  return {
    returnTo: safeReturnTo(options.returnTo) ?? config.logoutReturnTo,
    localLogout: options.localLogout ?? config.localLogout,
  }
}
