// One contender of the Fastify resource-server benchmark: GET /api/private behind a bearer-token
// check. Config: { contender: 'codegrant' | 'fastify-jwt' | 'fastify-jwt-cache' | 'bare', issuer,
// jwksUri, audience, alg }. The same checks on both libraries (see bench/README.md): algorithm,
// iss, aud, exp, typ at+jwt, and the RFC 9068 claims sub, client_id, iat, jti.

import { createServer } from 'node:http'
import Fastify from 'fastify'
import { fail, readServerConfig, serve } from './serve.mjs'

const cfg = readServerConfig()

/** @param {import('fastify').FastifyInstance} app @returns {Promise<unknown[]>} onRequest hooks */
async function guard(app) {
  switch (cfg.contender) {
    case 'bare':
      return []
    case 'codegrant': {
      const { requireToken } = await import('@codegrant/resource-server/fastify')
      return [
        requireToken({
          issuer: cfg.issuer,
          audience: cfg.audience,
          jwksUri: cfg.jwksUri,
          algorithms: [cfg.alg],
          strict: true,
        }),
      ]
    }
    case 'fastify-jwt':
    case 'fastify-jwt-cache': {
      // As @fastify/jwt's README shows for a JWKS: get-jwks resolves the key by `kid` and `alg`
      // from the issuer's JWKS (fetched once, then from its cache), here at our JWKS path.
      const { default: fastifyJwt } = await import('@fastify/jwt')
      const { default: buildGetJwks } = await import('get-jwks')
      const getJwks = buildGetJwks({
        jwksPath: new URL(cfg.jwksUri).pathname,
        issuersWhitelist: [cfg.issuer],
      })
      await app.register(fastifyJwt, {
        decode: { complete: true },
        secret: (/** @type {any} */ _request, /** @type {any} */ token) => {
          const {
            header: { kid, alg },
            payload: { iss },
          } = token
          return getJwks.getPublicKey({ kid, domain: iss, alg })
        },
        verify: {
          algorithms: [cfg.alg],
          allowedIss: cfg.issuer,
          allowedAud: cfg.audience,
          checkTyp: 'at+jwt',
          requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
          // fast-jwt's verified-token cache is off by default; ours is on by default.
          ...(cfg.contender === 'fastify-jwt-cache' ? { cache: true } : {}),
        },
      })
      return [
        async (/** @type {any} */ request, /** @type {any} */ reply) => {
          try {
            await request.jwtVerify()
          } catch (err) {
            return reply.send(err)
          }
        },
      ]
    }
    default:
      throw new TypeError(`unknown contender "${cfg.contender}"`)
  }
}

try {
  // The harness's server (serve.mjs) gets Fastify's own request handler, through the documented
  // serverFactory; the server Fastify is given back is never listened on.
  /** @type {import('node:http').RequestListener | undefined} */
  let handler
  const app = Fastify({
    logger: false,
    serverFactory: (h) => {
      handler = /** @type {import('node:http').RequestListener} */ (h)
      return createServer()
    },
  })
  const onRequest = await guard(app)
  app.get('/api/private', { onRequest }, async () => ({ ok: true }))
  await app.ready()
  await serve(() => /** @type {import('node:http').RequestListener} */ (handler))
} catch (err) {
  fail(err)
}
