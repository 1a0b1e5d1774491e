// A user's app, written against the published packages only: test/packed-app.test.ts copies it
// into a fresh directory where @codegrant/* come from `pnpm pack` tarballs, type-checks it
// (strict, node16 resolution, no DOM lib, skipLibCheck off), compiles and runs it. It loads both
// Express augmentations (`req.auth` of @codegrant/express/global, `req.accessToken` of the resource server).
// Settings come from the environment: ISSUER_URL, CLIENT_ID, CLIENT_SECRET, PORT, API_AUDIENCE.
import type { AddressInfo } from 'node:net'
import { createClient, isCodegrantError, type Client } from '@codegrant/core'
import { auth, getAuth, isAuthError, requiresAuth } from '@codegrant/express'
import '@codegrant/express/global'
import { createVerifier, type AuthInfo } from '@codegrant/resource-server'
import { tokenErrorHandler, requireToken, requireScopes } from '@codegrant/resource-server/express'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'

function setting(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

const issuer = setting('ISSUER_URL')
const audience = setting('API_AUDIENCE')
const port = Number(setting('PORT'))
const baseUrl = `http://127.0.0.1:${port}`

let client: Promise<Client> | undefined
const getClient = (): Promise<Client> =>
  (client ??= createClient({
    issuer,
    clientId: setting('CLIENT_ID'),
    clientSecret: setting('CLIENT_SECRET'),
    redirectUri: `${baseUrl}/callback`,
    postLogoutRedirectUri: `${baseUrl}/`,
    scope: 'openid profile email offline_access read:messages',
  }))

const app = express()
app.use(
  session({
    secret: 'packed-app-session-secret-0123456789abcdef',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
)
app.use(
  auth({
    client: getClient,
    secret: 'packed-app-token-secret-0123456789abcdef-0123',
    resource: audience,
  }),
)

app.get('/me', (req: Request, res: Response) => {
  const state = getAuth(req)
  if (!state.isAuthenticated) {
    res.status(401).json({ error: 'unauthorized' })
    return
  }
  res.json({ sub: state.user?.sub })
})

// The API side, in the same app: the access token of the session, checked by the resource server.
const verifier = createVerifier({ issuer, audience })
app.get('/api/private', requireToken({ verifier }), requireScopes('read:messages'), (req, res) => {
  const info: AuthInfo | undefined = req.accessToken
  res.json({ sub: info?.sub, scopes: info?.scopes })
})
app.get('/call-api', requiresAuth(), async (req, res, next) => {
  try {
    const accessToken = await getAuth(req).getAccessToken()
    const api = await fetch(`${baseUrl}/api/private`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    res.status(api.status).json(await api.json())
  } catch (err) {
    next(err)
  }
})

app.use('/api', tokenErrorHandler())
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const code = isAuthError(err) || isCodegrantError(err) ? err.code : 'ERR_INTERNAL'
  const status = isAuthError(err) ? err.status : 500
  res.status(status).json({ code })
})

const server = app.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as AddressInfo
  console.log(`packed-app listening on http://127.0.0.1:${actual}`)
})
process.on('SIGTERM', () => server.close())
