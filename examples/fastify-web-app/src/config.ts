import { createHash, createPrivateKey, type JsonWebKey as NodeJsonWebKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ClientAuthMethod } from '@codegrant/core'

/** The example's settings, read once from the environment at start. */
export interface WebAppConfig {
  port: number
  /** Unset: `http://localhost:<port>` once the port is known. */
  baseUrl: string | undefined
  issuerUrl: string
  clientId: string
  clientSecret: string | undefined
  clientAuthMethod: ClientAuthMethod
  privateKey: JsonWebKey | string | undefined
  /** The `aud` of a client assertion (`client_secret_jwt`, `private_key_jwt`). */
  assertionAudience: 'issuer' | 'token_endpoint'
  scope: string
  apiUrl: string | undefined
  apiAudience: string | undefined
  sessionSecret: string
  /** The secret the token encryption keys are derived from (always long enough). */
  tokenSecret: string
  redisUrl: string | undefined
  /** Warnings to print at start (never secrets). */
  warnings: string[]
}

/** A start-up error: one line, naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])
const METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
]
const ASSERTION_AUDIENCES = ['issuer', 'token_endpoint'] as const
const DEV_SECRET = 'codegrant-example-web-app-development-secret-do-not-use-in-production'

type Env = Record<string, string | undefined>

function value(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function required(env: Env, name: string): string {
  const v = value(env, name)
  if (v === undefined) throw new ConfigError(`${name} is required`)
  return v
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const v = value(env, name)
  if (v === undefined) return undefined
  const parsed = URL.parse(v)
  if (parsed === null || !protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must be a valid ${protocols.join(' or ')} URL`)
  }
  return v
}

function readPrivateKey(path: string): JsonWebKey | string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new ConfigError(`CLIENT_PRIVATE_KEY: cannot read the file ${path}`)
  }
  const invalid = new ConfigError('CLIENT_PRIVATE_KEY must be a PEM file or a private JWK (JSON)')
  // Parsed now, so a public key, a broken PEM or a JWK without its private part stops the app at
  // start instead of failing at the first login.
  if (text.includes('-----BEGIN')) {
    try {
      createPrivateKey(text)
    } catch {
      throw invalid
    }
    return text
  }
  let jwk: JsonWebKey
  try {
    jwk = JSON.parse(text) as JsonWebKey
  } catch {
    throw invalid
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof jwk.kty !== 'string')
    throw invalid
  try {
    createPrivateKey({ key: jwk as NodeJsonWebKey, format: 'jwk' })
  } catch {
    throw invalid
  }
  return jwk
}

/** Reads and checks every setting; throws {@link ConfigError} naming the first bad variable. */
export function loadConfig(env: Env): WebAppConfig {
  const warnings: string[] = []
  const portText = value(env, 'PORT') ?? '3000'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('PORT must be an integer from 0 to 65535')
  }
  const baseUrl = url(env, 'BASE_URL', ['http:', 'https:'])?.replace(/\/+$/, '')

  const issuerUrl = required(env, 'ISSUER_URL')
  const issuer = URL.parse(issuerUrl)
  if (issuer === null || (issuer.protocol !== 'https:' && issuer.protocol !== 'http:')) {
    throw new ConfigError('ISSUER_URL must be a valid https URL')
  }
  if (issuer.protocol === 'http:' && !LOOPBACK.has(issuer.hostname)) {
    throw new ConfigError(
      'ISSUER_URL must use https (plain http is allowed only for localhost, 127.0.0.1 and ::1)',
    )
  }

  const clientId = required(env, 'CLIENT_ID')
  const method = (value(env, 'CLIENT_AUTH_METHOD') ?? 'client_secret_basic') as ClientAuthMethod
  if (!METHODS.includes(method)) {
    throw new ConfigError(`CLIENT_AUTH_METHOD must be one of ${METHODS.join(', ')}`)
  }
  const needsSecret = method !== 'none' && method !== 'private_key_jwt'
  const clientSecret = needsSecret ? required(env, 'CLIENT_SECRET') : value(env, 'CLIENT_SECRET')
  let privateKey: JsonWebKey | string | undefined
  if (method === 'private_key_jwt') privateKey = readPrivateKey(required(env, 'CLIENT_PRIVATE_KEY'))

  const audience = value(env, 'CLIENT_ASSERTION_AUDIENCE') ?? 'issuer'
  if (!(ASSERTION_AUDIENCES as readonly string[]).includes(audience)) {
    throw new ConfigError(
      `CLIENT_ASSERTION_AUDIENCE must be one of ${ASSERTION_AUDIENCES.join(', ')}`,
    )
  }
  const assertionAudience = audience as WebAppConfig['assertionAudience']

  const scope = value(env, 'SCOPE') ?? 'openid profile email offline_access'
  if (!scope.split(' ').includes('openid')) throw new ConfigError('SCOPE must include openid')

  let sessionSecret = value(env, 'SESSION_SECRET')
  if (sessionSecret === undefined) {
    if (value(env, 'NODE_ENV') === 'production') {
      throw new ConfigError(
        'SESSION_SECRET is required when NODE_ENV=production (32+ random characters, e.g. `openssl rand -base64 32`)',
      )
    }
    sessionSecret = DEV_SECRET
    warnings.push(
      'WARNING: SESSION_SECRET is not set; using a public development secret. Sessions and stored tokens are NOT protected. Set SESSION_SECRET (32+ random characters) in production.',
    )
  } else if (sessionSecret.length < 32) {
    warnings.push('WARNING: SESSION_SECRET is shorter than 32 characters; use a long random value.')
  }
  const tokenSecret =
    sessionSecret.length >= 32
      ? sessionSecret
      : createHash('sha256').update(sessionSecret).digest('hex')

  return {
    port,
    baseUrl,
    issuerUrl,
    clientId,
    clientSecret,
    clientAuthMethod: method,
    privateKey,
    assertionAudience,
    scope,
    apiUrl: url(env, 'API_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    apiAudience: value(env, 'API_AUDIENCE'),
    sessionSecret,
    tokenSecret,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    warnings,
  }
}
