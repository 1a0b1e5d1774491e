// What the interop tests need from an authorization server they started (Glewlwyd, LemonLDAP::NG),
// and the helpers both setups share: a temp dir, a child process waited on, client credentials.
import { spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClientAuthMethod } from '@codegrant/core'
import { collectOutput, stopChild, waitForOutput, type Child } from '../support/child.js'
import type { Browser } from './browser.js'

/** A client registered at the server for one web-app instance. */
export interface InteropClient {
  readonly method: ClientAuthMethod
  readonly clientId: string
  readonly clientSecret: string
  /** A private JWK file, for `private_key_jwt`. */
  readonly privateKeyPath?: string
  /** The web app's port (its redirect URIs are registered for `http://localhost:<port>`). */
  readonly port: number
}

/** A running authorization server, configured from scratch for this run. */
export interface InteropServer {
  readonly name: string
  readonly issuer: string
  /** The audience of the access tokens issued for examples/api. */
  readonly audience: string
  /** The demo user's `sub`, when the server's subjects are predictable. */
  readonly sub?: string
  /** The name and email the user's profile holds. */
  readonly profile: { readonly name: string; readonly email: string }
  readonly clients: readonly InteropClient[]
  /** Settings the web app needs with this server beyond its client (its quirks). */
  readonly webAppEnv: Readonly<Record<string, string>>
  /** Settings examples/api needs with this server beyond its issuer and audience. */
  readonly apiEnv: Readonly<Record<string, string>>
  /** Signs the user in (and consents) from the authorization URL; returns the redirect to the app. */
  login(browser: Browser, authorizationUrl: URL): Promise<URL>
  /**
   * Ends the session from the end-session URL as its logout page does; returns where the page
   * sends the browser back to, or undefined when it stays on the server's own page.
   */
  logout(browser: Browser, endSessionUrl: URL): Promise<URL | undefined>
  /** Whether the browser still has a session at the server. */
  hasSession(browser: Browser): Promise<boolean>
  /** Everything the server printed (for failure messages). */
  output(): string
  stop(): Promise<void>
}

/** What a setup is asked for: one client per web-app port and authentication method. */
export interface ClientRequest {
  readonly method: ClientAuthMethod
  readonly port: number
}

/** The API audience both servers put in access tokens (Glewlwyd wants an https resource URI). */
export const API_AUDIENCE = 'https://api.codegrant.test'

const SHORT: Record<ClientAuthMethod, string> = {
  client_secret_basic: 'basic',
  client_secret_post: 'post',
  client_secret_jwt: 'secret-jwt',
  private_key_jwt: 'key-jwt',
  none: 'public',
  tls_client_auth: 'tls',
  self_signed_tls_client_auth: 'self-signed-tls',
}

/**
 * A client id with `-` in it, as real ones have (`codegrant-web-basic`): it exercises the
 * `client_secret_basic` encoding (issue 8, defect 3).
 */
export function clientIdFor(method: ClientAuthMethod): string {
  return `codegrant-web-${SHORT[method]}`
}

/** What openid-client puts in the Basic header today (form-encoding plus `-._~` escaped). */
const escapedUnreserved = (value: string) =>
  encodeURIComponent(value).replace(
    /[-._~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
const base64 = (value: string) => Buffer.from(value).toString('base64')

/**
 * A random secret whose Basic credentials hold no `+` or `/` in their Base64, both as sent today and
 * as sent once issue 8.3 is fixed: LemonLDAP::NG's Basic parser stops at those characters, and a
 * test must fail for our defect, not for that one.
 */
export function clientSecretFor(clientId: string): string {
  for (;;) {
    const secret = randomBytes(24).toString('hex')
    const forms = [`${clientId}:${secret}`, `${escapedUnreserved(clientId)}:${secret}`]
    if (forms.every((f) => !/[+/]/.test(base64(f)))) return secret
  }
}

/** An RSA key pair for `private_key_jwt`: the private JWK written to `dir`, the public JWK. */
export function clientKeyPair(dir: string, kid: string): { path: string; publicJwk: JsonWebKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const path = join(dir, `${kid}.private.jwk.json`)
  writeFileSync(
    path,
    JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256' }),
  )
  return {
    path,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  }
}

/** A fresh temp dir and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `codegrant-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Spawns a server and waits for the line that says it listens. */
export async function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; ready: RegExp; timeoutMs?: number },
): Promise<{ child: Child; output: () => string; stop: () => Promise<void> }> {
  const child: Child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  })
  const output = collectOutput(child)
  try {
    await waitForOutput(child, options.ready, options.timeoutMs ?? 30_000)
  } catch (err) {
    await stopChild(child)
    throw err
  }
  return { child, output, stop: () => stopChild(child) }
}

/** Throws with the server's answer when a setup call did not succeed. */
export async function expectOk(
  what: string,
  response: Response | Promise<Response>,
): Promise<string> {
  const res = await response
  const text = await res.text()
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`)
  return text
}
