// Glewlwyd 2.7 (Debian `glewlwyd`) set up from scratch: a SQLite database from the package's
// schema, a config file on a loopback port, then everything else through its admin API (the
// default admin password changed first), as an administrator would do it.
import { spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { baseEnv } from '../support/child.js'
import { freePort } from '../support/ports.js'
import { Browser } from './browser.js'
import {
  API_AUDIENCE,
  clientIdFor,
  clientKeyPair,
  clientSecretFor,
  startProcess,
  tempDir,
  type ClientRequest,
  type InteropClient,
  type InteropServer,
} from './server.js'

const SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3'
const MODULES = '/usr/lib/glewlwyd'
const PLUGIN = 'oidc'
const SCOPES = ['openid', 'profile', 'email', 'offline_access']
const USER = { username: 'demo-user', name: 'Demo User', email: 'demo-user@example.test' }

/** The access-token lifetime we configure (Glewlwyd gives ID tokens the same). */
export const GLEWLWYD_ACCESS_TOKEN_SECONDS = 3

// libconfig syntax. No `use_secure_connection` line: writing it false makes Glewlwyd ask for
// certificate files anyway.
function configFile(port: number, dbPath: string): string {
  return `port=${port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:${port}"
login_url="login.html"
api_prefix="api"
log_mode="console"
log_level="INFO"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="${MODULES}/user"
client_module_path="${MODULES}/client"
user_auth_scheme_module_path="${MODULES}/scheme"
plugin_module_path="${MODULES}/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "${dbPath}"; };
`
}

/** The OIDC plugin instance: short tokens, rotating refresh tokens, JWT client auth allowed. */
function pluginParameters(issuer: string): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const signingKey = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'glewlwyd-sig-1',
    alg: 'RS256',
  }
  return {
    iss: issuer,
    'jwt-type': 'rsa',
    'jwt-key-size': '256',
    'jwks-private': JSON.stringify({ keys: [signingKey] }),
    'default-kid': 'glewlwyd-sig-1',
    'jwks-show': true,
    'access-token-duration': GLEWLWYD_ACCESS_TOKEN_SECONDS,
    'refresh-token-duration': 3600,
    'code-duration': 600,
    'refresh-token-rolling': true,
    'refresh-token-one-use': 'always',
    'allow-non-oidc': false,
    'auth-type-code-enabled': true,
    'auth-type-refresh-enabled': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': false,
    'auth-type-none-enabled': false,
    'auth-type-password-enabled': false,
    'auth-type-client-enabled': false,
    'auth-type-device-enabled': false,
    scope: [],
    'additional-parameters': [],
    claims: [],
    // Needed for client_secret_jwt and private_key_jwt (they are refused otherwise).
    'request-parameter-allow': true,
    'secret-type': 'public',
    'address-claim': { type: 'no' },
    'name-claim': 'mandatory',
    'name-claim-scope': ['profile'],
    'email-claim': 'mandatory',
    'email-claim-scope': ['email'],
    'scope-claim': 'no',
    'allowed-scope': SCOPES,
    'pkce-allowed': true,
    'pkce-method-plain-allowed': false,
    'session-management-allowed': true,
    'session-cookie-name': 'GLEWLWYD2_OIDC_SID',
    'session-cookie-expiration': 3600,
    // Its logout page's session lookup answers 400 unless front-channel logout is allowed.
    'front-channel-logout-allowed': true,
    'back-channel-logout-allowed': false,
    'client-jwks-parameter': 'jwks',
    'client-jwks_uri-parameter': 'jwks_uri',
    // RFC 8707: the API's resource URI becomes the access token's `aud`.
    'resource-allowed': true,
    'resource-scope': { openid: [API_AUDIENCE] },
    'resource-scope-and-client-property': false,
  }
}

/** Starts Glewlwyd with one client per request; resolves once it is configured. */
export async function startGlewlwyd(requests: readonly ClientRequest[]): Promise<InteropServer> {
  const tmp = tempDir('glewlwyd')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const api = `${base}/api`
  const issuer = `${api}/${PLUGIN}`
  const dbPath = join(tmp.dir, 'glewlwyd.db')
  const schema = spawnSync('sqlite3', [dbPath], { input: readFileSync(SCHEMA) })
  if (schema.status !== 0) throw new Error(`sqlite3: ${schema.stderr.toString()}`)
  const configPath = join(tmp.dir, 'glewlwyd.conf')
  writeFileSync(configPath, configFile(port, dbPath))

  const server = await startProcess('glewlwyd', ['-c', configPath], {
    env: baseEnv(),
    ready: /Glewlwyd started on port/,
  }).catch((err: unknown) => {
    tmp.remove()
    throw err
  })
  try {
    const admin = new Browser()
    const call = async (method: string, path: string, json?: unknown) => {
      const res = await admin.request(`${api}${path}`, {
        method,
        ...(json !== undefined && { json }),
      })
      if (res.status !== 200)
        throw new Error(`Glewlwyd ${method} ${path}: ${res.status} ${res.text}`)
      return res.text
    }
    await call('POST', '/auth/', { username: 'admin', password: 'password' })
    // The package's database has a well-known admin password: replace it before anything else.
    await call('PUT', '/profile/password', {
      username: 'admin',
      old_password: 'password',
      password: randomBytes(24).toString('hex'),
    })
    for (const name of SCOPES.filter((s) => s !== 'openid')) {
      await call('POST', '/scope/', {
        name,
        display_name: name,
        description: `The ${name} scope`,
        password_required: false,
        scheme: {},
      })
    }
    await call('POST', '/mod/plugin/', {
      module: 'oidc',
      name: PLUGIN,
      display_name: 'OpenID Connect',
      parameters: pluginParameters(issuer),
    })
    const password = randomBytes(12).toString('hex')
    await call('POST', '/user/', { ...USER, password, scope: SCOPES, enabled: true })

    // end_session checks the client property `post_logout_redirect_uris`, which the default client
    // data-format lacks (it has a single `post_logout_redirect_uri`): declare it, then reload.
    const clientModule = JSON.parse(await call('GET', '/mod/client/database')) as {
      display_name: string
      order_rank: number
      readonly: boolean
      parameters: { 'data-format': Record<string, unknown> }
    }
    clientModule.parameters['data-format'].post_logout_redirect_uris = {
      multiple: true,
      read: true,
      write: true,
    }
    await call('PUT', '/mod/client/database', clientModule)
    await call('PUT', '/mod/client/database/reset')

    const clients: InteropClient[] = []
    for (const { method, port: appPort } of requests) {
      const clientId = clientIdFor(method)
      const clientSecret = clientSecretFor(clientId)
      const key = method === 'private_key_jwt' ? clientKeyPair(tmp.dir, clientId) : undefined
      await call('POST', '/client/', {
        client_id: clientId,
        name: clientId,
        enabled: true,
        confidential: true,
        // `password` (hashed) checks client_secret_basic/post; client_secret_jwt needs the secret.
        password: clientSecret,
        client_secret: clientSecret,
        redirect_uri: [`http://localhost:${appPort}/callback`],
        post_logout_redirect_uris: [`http://localhost:${appPort}/`],
        authorization_type: ['code', 'refresh_token'],
        token_endpoint_auth_method: [method],
        scope: [],
        ...(key !== undefined && { jwks: { keys: [key.publicJwk] } }),
      })
      clients.push({
        method,
        clientId,
        clientSecret,
        port: appPort,
        ...(key !== undefined && { privateKeyPath: key.path }),
      })
    }
    await call('DELETE', '/auth/')

    return {
      name: 'Glewlwyd',
      issuer,
      audience: API_AUDIENCE,
      profile: { name: USER.name, email: USER.email },
      clients,
      webAppEnv: { CLIENT_ASSERTION_AUDIENCE: 'token_endpoint' },
      // Its access tokens are typed `at+jwt`: examples/api's strict default holds.
      apiEnv: {},
      async login(browser, authorizationUrl) {
        // What login.html does: the password scheme, the consent, then the authorize URL again
        // with `g_continue`.
        const first = await browser.redirect(authorizationUrl)
        if (!first.pathname.endsWith('/login.html'))
          throw new Error(`Glewlwyd did not show its login page: ${first.pathname}`)
        const clientId = first.searchParams.get('client_id') ?? ''
        const scope = first.searchParams.get('scope') ?? ''
        const callback = first.searchParams.get('callback_url')
        if (callback === null) throw new Error('Glewlwyd login page without callback_url')
        const auth = await browser.request(`${api}/auth/`, {
          json: { username: USER.username, password },
        })
        if (auth.status !== 200) throw new Error(`Glewlwyd password login: ${auth.status}`)
        const grant = await browser.request(`${api}/auth/grant/${encodeURIComponent(clientId)}/`, {
          method: 'PUT',
          json: { scope },
        })
        if (grant.status !== 200) throw new Error(`Glewlwyd consent: ${grant.status}`)
        const again = new URL(callback)
        again.searchParams.set('g_continue', '')
        return browser.redirect(again)
      },
      async logout(browser, endSessionUrl) {
        // login.html with prompt=end_session: list the session's clients, end the OIDC session,
        // close the Glewlwyd session, then go to callback_url (the post-logout redirect).
        const page = await browser.redirect(endSessionUrl)
        const sid = page.searchParams.get('sid')
        const clientId = page.searchParams.get('client_id')
        const callback = page.searchParams.get('callback_url')
        if (page.searchParams.get('prompt') !== 'end_session' || sid === null || clientId === null)
          throw new Error(
            `Glewlwyd end_session did not recognise the id_token_hint: ${page.search}`,
          )
        const postRedirectTo = page.searchParams.get('post_redirect_to')
        const list = await browser.json(
          `${api}/${PLUGIN}/session/${sid}/${encodeURIComponent(clientId)}` +
            (postRedirectTo !== null
              ? `?post_redirect_to=${encodeURIComponent(postRedirectTo)}`
              : ''),
        )
        if (list.status !== 200) throw new Error(`Glewlwyd session list: ${list.status}`)
        const end = await browser.request(`${api}/${PLUGIN}/session/${sid}`, { method: 'DELETE' })
        if (end.status !== 200) throw new Error(`Glewlwyd end OIDC session: ${end.status}`)
        const close = await browser.request(`${api}/auth/`, { method: 'DELETE' })
        if (close.status !== 200) throw new Error(`Glewlwyd close session: ${close.status}`)
        // Glewlwyd 2.7.5 passes post_redirect_to to its page only when the request has `state`;
        // without it the page stays on "session closed" instead of going back.
        if (list.body.post_redirect_to === undefined || callback === null) return undefined
        return new URL(callback)
      },
      async hasSession(browser) {
        return (await browser.json(`${api}/profile_list`)).status === 200
      },
      output: server.output,
      async stop() {
        await server.stop()
        tmp.remove()
      },
    }
  } catch (err) {
    await server.stop()
    tmp.remove()
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${server.output()}`)
  }
}
