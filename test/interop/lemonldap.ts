// LemonLDAP::NG 2.16 (Debian `liblemonldap-ng-portal-perl`) set up from scratch: its portal PSGI app
// under `plackup` on a loopback port, a File configuration backend holding one `lmConf-1.json`
// written here, the Demo authentication backend, one OpenID Connect RP per web-app instance.
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { baseEnv } from '../support/child.js'
import { freePort } from '../support/ports.js'
import { formFields, type Browser } from './browser.js'
import {
  API_AUDIENCE,
  clientIdFor,
  clientSecretFor,
  startProcess,
  tempDir,
  type ClientRequest,
  type InteropClient,
  type InteropServer,
} from './server.js'

const PORTAL_PSGI = '/usr/share/lemonldap-ng/portal/htdocs/index.psgi'
const TEMPLATES = '/usr/share/lemonldap-ng/portal/templates'
/** A user of the Demo backend (its password is its login). */
const USER = { login: 'dwho', name: 'Doctor Who', email: 'dwho@badwolf.org' }

/** The access-token lifetime we configure for every RP. */
export const LEMONLDAP_ACCESS_TOKEN_SECONDS = 3

function iniFile(confDir: string): string {
  return `[all]
logLevel = error
checkTime = 1

[configuration]
type = File
dirName = ${confDir}

[portal]
staticPrefix = /static
templateDir = ${TEMPLATES}
languages = en
`
}

function rpOptions(client: InteropClient): Record<string, unknown> {
  const app = `http://localhost:${client.port}`
  return {
    oidcRPMetaDataOptionsDisplayName: client.clientId,
    oidcRPMetaDataOptionsClientID: client.clientId,
    oidcRPMetaDataOptionsClientSecret: client.clientSecret,
    oidcRPMetaDataOptionsPublic: 0,
    oidcRPMetaDataOptionsRedirectUris: `${app}/callback`,
    oidcRPMetaDataOptionsPostLogoutRedirectUris: `${app}/`,
    oidcRPMetaDataOptionsBypassConsent: 1,
    oidcRPMetaDataOptionsRequirePKCE: 1,
    oidcRPMetaDataOptionsIDTokenSignAlg: 'RS256',
    oidcRPMetaDataOptionsIDTokenExpiration: 3600,
    // JWT access tokens for examples/api: LemonLDAP ignores RFC 8707 `resource`, the audience
    // comes from AdditionalAudiences.
    oidcRPMetaDataOptionsAccessTokenJWT: 1,
    oidcRPMetaDataOptionsAccessTokenSignAlg: 'RS256',
    oidcRPMetaDataOptionsAccessTokenExpiration: LEMONLDAP_ACCESS_TOKEN_SECONDS,
    oidcRPMetaDataOptionsAdditionalAudiences: API_AUDIENCE,
    // Refresh tokens for online sessions and offline_access; LemonLDAP does not rotate them.
    oidcRPMetaDataOptionsRefreshToken: 1,
    oidcRPMetaDataOptionsAllowOffline: 1,
  }
}

function configuration(port: number, dir: string, clients: readonly InteropClient[]) {
  const portal = `http://127.0.0.1:${port}`
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const storage = (name: string) => {
    const path = join(dir, name)
    mkdirSync(join(path, 'lock'), { recursive: true })
    return { Directory: path, LockDirectory: join(path, 'lock') }
  }
  const rpKey = (client: InteropClient) => client.clientId.replace(/[^A-Za-z0-9]/g, '')
  return {
    cfgNum: 1,
    cfgAuthor: 'codegrant interop tests',
    cfgDate: String(Math.floor(Date.now() / 1000)),
    cfgVersion: '2.16.1',
    portal: `${portal}/`,
    domain: '127.0.0.1',
    cookieName: 'lemonldap',
    securedCookie: 0,
    timeout: 3600,
    authentication: 'Demo',
    userDB: 'Same',
    passwordDB: 'Demo',
    registerDB: 'Null',
    demoExportedVars: { uid: 'uid', cn: 'cn', mail: 'mail' },
    exportedVars: {},
    exportedHeaders: {},
    locationRules: { '127.0.0.1': { default: 'accept' } },
    whatToTrace: 'uid',
    notification: 0,
    loginHistoryEnabled: 0,
    globalStorage: 'Apache::Session::File',
    globalStorageOptions: storage('sessions'),
    persistentStorage: 'Apache::Session::File',
    persistentStorageOptions: storage('psessions'),
    localSessionStorage: 'Cache::FileCache',
    localSessionStorageOptions: {
      cache_root: join(dir, 'cache'),
      namespace: 'lemonldap-ng-sessions',
      default_expires_in: 600,
    },
    issuerDBOpenIDConnectActivation: 1,
    oidcServiceMetaDataIssuer: portal,
    oidcServicePrivateKeySig: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    oidcServicePublicKeySig: publicKey.export({ type: 'spki', format: 'pem' }),
    oidcServiceKeyIdSig: 'lemonldap-sig-1',
    oidcRPMetaDataOptions: Object.fromEntries(clients.map((c) => [rpKey(c), rpOptions(c)])),
    // name and email are released through UserInfo only (not in the ID token).
    oidcRPMetaDataExportedVars: Object.fromEntries(
      clients.map((c) => [rpKey(c), { name: 'cn', email: 'mail', preferred_username: 'uid' }]),
    ),
  }
}

/** Starts the LemonLDAP::NG portal with one RP per request. */
export async function startLemonLdap(requests: readonly ClientRequest[]): Promise<InteropServer> {
  const tmp = tempDir('lemonldap')
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const clients: InteropClient[] = requests.map(({ method, port: appPort }) => {
    const clientId = clientIdFor(method)
    return { method, clientId, clientSecret: clientSecretFor(clientId), port: appPort }
  })
  const confDir = join(tmp.dir, 'conf')
  mkdirSync(confDir)
  writeFileSync(
    join(confDir, 'lmConf-1.json'),
    JSON.stringify(configuration(port, tmp.dir, clients), null, 2),
  )
  const ini = join(tmp.dir, 'lemonldap-ng.ini')
  writeFileSync(ini, iniFile(confDir))

  const server = await startProcess(
    'plackup',
    ['--host', '127.0.0.1', '--port', String(port), PORTAL_PSGI],
    { env: { ...baseEnv(), LLNG_DEFAULTCONFFILE: ini }, ready: /Accepting connections/ },
  ).catch((err: unknown) => {
    tmp.remove()
    throw err
  })

  return {
    name: 'LemonLDAP::NG',
    issuer,
    audience: API_AUDIENCE,
    sub: USER.login,
    profile: { name: USER.name, email: USER.email },
    clients,
    webAppEnv: {},
    // Its JWT access tokens are typed `JWT`, not RFC 9068's `at+jwt`.
    apiEnv: { STRICT_TOKEN_TYPE: 'false' },
    async login(browser, authorizationUrl) {
      // The portal answers the authorize URL with its HTML login form, which posts back to it.
      const page = await browser.request(authorizationUrl)
      if (page.status !== 200 || !page.text.includes('name="password"'))
        throw new Error(
          `LemonLDAP did not show its login form: ${page.status} ${page.text.slice(0, 2000)}\n${server.output()}`,
        )
      const fields = formFields(page.text, /<form[^>]*id="lform"/)
      fields.set('user', USER.login)
      fields.set('password', USER.login)
      return browser.redirect(authorizationUrl, { form: fields })
    },
    async logout(browser, endSessionUrl) {
      // The portal asks the user to confirm the logout; the form posts back to the same URL.
      const page = await browser.request(endSessionUrl)
      if (page.location !== undefined) return page.location
      if (page.status !== 200) throw new Error(`LemonLDAP logout page: ${page.status}`)
      return browser.redirect(endSessionUrl, { form: formFields(page.text, /<form[^>]*id="form"/) })
    },
    async hasSession(browser) {
      // The portal's own page shows the login form to anonymous users only.
      const page = await browser.request(`${issuer}/`)
      return !page.text.includes('name="password"')
    },
    output: server.output,
    async stop() {
      await server.stop()
      tmp.remove()
    },
  }
}
