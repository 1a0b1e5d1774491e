// One contender of the web-app benchmark: an authenticated GET through the library's guard that
// reads a fresh access token from the session and answers a small JSON.
// Config: { contender: 'codegrant' | 'peer', issuer, clientId, clientSecret, secret }

import express from 'express'
import { fail, readServerConfig, serve } from './serve.mjs'

const cfg = readServerConfig()
const ROUTE = '/api/token'

/**
 * The shared handler: the same small JSON for both contenders (never the token itself).
 * @param {import('express').Response} res
 * @param {string} accessToken
 */
function answer(res, accessToken) {
  res.json({ ok: true, tokenLength: accessToken.length })
}

/**
 * @param {number} port
 * @returns {Promise<import('express').Express>}
 */
async function codegrantApp(port) {
  const { default: session } = await import('express-session')
  const { createClient } = await import('@codegrant/core')
  const { auth, requiresAuth } = await import('@codegrant/express')
  const baseUrl = `http://127.0.0.1:${port}`
  const app = express()
  app.disable('x-powered-by')
  // express-session with its default MemoryStore, the flags auth() asks for (secure is off:
  // plain-http loopback).
  app.use(
    session({
      secret: cfg.secret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false },
    }),
  )
  app.use(
    auth({
      client: () =>
        createClient({
          issuer: cfg.issuer,
          clientId: cfg.clientId,
          clientSecret: cfg.clientSecret,
          redirectUri: `${baseUrl}/callback`,
          scope: 'openid profile email',
        }),
      secret: cfg.secret,
    }),
  )
  app.get(ROUTE, requiresAuth(), async (req, res, next) => {
    try {
      answer(res, await /** @type {any} */ (req).auth.getAccessToken())
    } catch (err) {
      next(err)
    }
  })
  return app
}

/**
 * express-openid-connect configured the documented default way (its encrypted cookie session,
 * rolling), plus what a code-flow app needs: `response_type: 'code'` and the client secret.
 * @param {number} port
 */
async function peerApp(port) {
  const eoc = await import('express-openid-connect')
  const { auth, requiresAuth } = /** @type {any} */ (eoc).default ?? eoc
  const app = express()
  app.disable('x-powered-by')
  app.use(
    auth({
      issuerBaseURL: cfg.issuer,
      baseURL: `http://127.0.0.1:${port}`,
      clientID: cfg.clientId,
      clientSecret: cfg.clientSecret,
      secret: cfg.secret,
      authRequired: false,
      idpLogout: false,
      authorizationParams: { response_type: 'code', scope: 'openid profile email' },
    }),
  )
  app.get(ROUTE, requiresAuth(), async (req, res, next) => {
    try {
      // The same work as getAccessToken(): use the token, refreshing it first if expired.
      let token = /** @type {any} */ (req).oidc.accessToken
      if (token.isExpired()) token = await token.refresh()
      answer(res, token.access_token)
    } catch (err) {
      next(err)
    }
  })
  return app
}

try {
  await serve((port) => {
    if (cfg.contender === 'codegrant') return codegrantApp(port)
    if (cfg.contender === 'peer') return peerApp(port)
    throw new TypeError(`unknown contender "${cfg.contender}"`)
  })
} catch (err) {
  fail(err)
}
