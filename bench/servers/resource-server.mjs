// One contender of the resource-server benchmark: GET /api/private behind a bearer-token check.
// Config: { contender: 'codegrant' | 'codegrant-control' (the same again) | 'codegrant-rfc9728' |
// 'peer' | 'bare', issuer, jwksUri,
// audience, alg }

import express from 'express'
import { fail, okHandler, readServerConfig, serve } from './serve.mjs'

const cfg = readServerConfig()

/** @returns {Promise<import('express').RequestHandler[]>} */
async function guard() {
  switch (cfg.contender) {
    case 'bare':
      return []
    case 'codegrant-rfc9728': {
      // The same checks with RFC 9728 on: the metadata middleware in front of every request,
      // resource_metadata in challenges, and the route's scope registered by its guard.
      const { createVerifier } = await import('@codegrant/resource-server')
      const { protectedResourceMetadata, requireToken } =
        await import('@codegrant/resource-server/express')
      const verifier = createVerifier({
        issuer: cfg.issuer,
        audience: cfg.audience,
        jwksUri: cfg.jwksUri,
        algorithms: [cfg.alg],
        strict: true,
        resourceMetadata: {
          resource: cfg.audience,
          url: 'http://127.0.0.1/.well-known/oauth-protected-resource',
        },
      })
      return [protectedResourceMetadata(verifier), requireToken({ verifier, scopes: cfg.scopes })]
    }
    case 'codegrant':
    case 'codegrant-control': {
      const { requireToken } = await import('@codegrant/resource-server/express')
      return [
        requireToken({
          issuer: cfg.issuer,
          audience: cfg.audience,
          jwksUri: cfg.jwksUri,
          algorithms: [cfg.alg],
          // RFC 9068 profile checks (typ at+jwt, sub, client_id, iat, jti), like the peer below.
          strict: true,
          // The same scope check as the RFC 9728 contender (none in the other scenarios).
          ...(cfg.scopes === undefined ? {} : { scopes: cfg.scopes }),
        }),
      ]
    }
    case 'peer': {
      const { auth } = await import('express-oauth2-jwt-bearer')
      return [
        auth({
          issuer: cfg.issuer,
          audience: cfg.audience,
          jwksUri: cfg.jwksUri,
          tokenSigningAlg: cfg.alg,
          // RFC 9068 profile checks (typ at+jwt, iat, sub, client_id, jti), as ours does.
          strict: true,
        }),
      ]
    }
    default:
      throw new TypeError(`unknown contender "${cfg.contender}"`)
  }
}

try {
  const middlewares = await guard()
  const app = express()
  app.disable('x-powered-by')
  app.get('/api/private', ...middlewares, okHandler)
  await serve(() => app)
} catch (err) {
  fail(err)
}
