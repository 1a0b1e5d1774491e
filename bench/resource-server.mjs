// Issue 3: bearer-token validation throughput.
// @codegrant/resource-server `requireToken` vs express-oauth2-jwt-bearer `auth()` vs bare Express.

import { startServer } from './lib/child.mjs'
import { config, isSelected } from './lib/config.mjs'
import { measure } from './lib/load.mjs'
import { startMetadataServer } from './lib/metadata-server.mjs'
import { runScenario, toMarkdown, writeResults } from './lib/report.mjs'
import {
  AUDIENCE,
  SCOPE,
  createMinter,
  createTokenPool,
  generateSigningKeys,
  toJwks,
} from './lib/tokens.mjs'

const ROUTE = '/api/private'

/** @typedef {'codegrant' | 'codegrant-control' | 'codegrant-rfc9728' | 'peer' | 'bare' | 'fastify-codegrant' | 'fastify-jwt' | 'fastify-jwt-cache' | 'fastify-bare'} ContenderName */
const LABELS = {
  codegrant: '@codegrant/resource-server requireToken',
  'codegrant-rfc9728': '@codegrant/resource-server with RFC 9728 metadata',
  'codegrant-control': '@codegrant/resource-server requireToken (again: the noise floor)',
  peer: 'express-oauth2-jwt-bearer auth()',
  bare: 'bare Express (no auth)',
  'fastify-codegrant': 'Fastify + @codegrant/resource-server/fastify requireToken',
  'fastify-jwt': 'Fastify + @fastify/jwt (get-jwks) jwtVerify()',
  'fastify-jwt-cache': 'Fastify + @fastify/jwt (get-jwks, fast-jwt cache on)',
  'fastify-bare': 'bare Fastify (no auth)',
}

/** Fastify contenders run servers/resource-server-fastify.mjs with these contender names. */
const FASTIFY = {
  'fastify-codegrant': 'codegrant',
  'fastify-jwt': 'fastify-jwt',
  'fastify-jwt-cache': 'fastify-jwt-cache',
  'fastify-bare': 'bare',
}

/**
 * @param {{ issuer: string, jwksUri: string }} as
 * @param {ContenderName} name
 * @param {'RS256' | 'ES256'} alg
 * @param {(url: string) => import('./lib/load.mjs').LoadOptions & { afterRun?: () => Promise<boolean> }} load
 *   builds the load for one run; `afterRun` returns true when the run must be repeated
 * @returns {import('./lib/report.mjs').Contender}
 */
function contender(as, name, alg, load, extra = {}) {
  return {
    name,
    label: LABELS[name],
    async measureOnce() {
      for (let attempt = 0; ; attempt++) {
        const fastify = /** @type {Record<string, string>} */ (FASTIFY)[name]
        const server = await startServer(
          fastify === undefined ? 'resource-server' : 'resource-server-fastify',
          {
            contender: fastify ?? name,
            issuer: as.issuer,
            jwksUri: as.jwksUri,
            audience: AUDIENCE,
            alg,
            ...extra,
          },
          { label: `rs-${name}-${alg}` },
        )
        const { afterRun, ...options } = load(`${server.url}${ROUTE}`)
        /** @type {import('./lib/load.mjs').Measurement} */
        let m
        try {
          m = await measure(options)
        } finally {
          await server.stop()
        }
        const retry = afterRun ? await afterRun() : false
        if (!retry || attempt >= 3) return m
      }
    },
  }
}

/** @param {string} token */
const bearer = (token) => ({ authorization: `Bearer ${token}` })

export async function main() {
  const keys = generateSigningKeys()
  const as = await startMetadataServer({ jwks: toJwks([keys.RS256, keys.ES256]) })
  /** @type {import('./lib/report.mjs').ScenarioResult[]} */
  const results = []
  const out = (/** @type {import('./lib/report.mjs').ScenarioResult} */ r) => {
    results.push(r)
    process.stdout.write(`${toMarkdown(r)}\n`)
  }
  try {
    const alg = config.alg
    const minter = createMinter({ key: keys[alg], issuer: as.issuer })

    if (isSelected('rs-a')) {
      const token = minter.mintSync()
      out(
        await runScenario({
          id: 'rs-a',
          title: `(a) one token repeated (${alg})`,
          contenders: /** @type {ContenderName[]} */ (['codegrant', 'peer', 'bare']).map((n) =>
            contender(as, n, alg, (url) => ({ url, headers: bearer(token) })),
          ),
          targets: [
            { of: 'codegrant', vs: 'peer', target: 1.5 },
            { of: 'codegrant', vs: 'bare', target: 0.85 },
          ],
        }),
      )
    }

    if (isSelected('rs-fastify-a')) {
      // The Fastify adapter against @fastify/jwt, one token repeated: with fast-jwt's cache off
      // (its default) and on (ours is on by default), and bare Fastify.
      const token = minter.mintSync()
      out(
        await runScenario({
          id: 'rs-fastify-a',
          title: `(fastify a) one token repeated (${alg})`,
          contenders: /** @type {ContenderName[]} */ ([
            'fastify-codegrant',
            'fastify-jwt',
            'fastify-jwt-cache',
            'fastify-bare',
          ]).map((n) => contender(as, n, alg, (url) => ({ url, headers: bearer(token) }))),
          targets: [
            { of: 'fastify-codegrant', vs: 'fastify-jwt', target: 1.5 },
            { of: 'fastify-codegrant', vs: 'fastify-jwt-cache', target: 1 },
            { of: 'fastify-codegrant', vs: 'fastify-bare', target: 0.85 },
          ],
          note: 'Same checks on both (alg, iss, aud, exp, typ at+jwt, sub, client_id, iat, jti); both fetch the same JWKS once.',
        }),
      )
    }

    if (isSelected('rs-m')) {
      // Issue 10: RFC 9728 metadata and challenges must add nothing measurable to the hot path.
      const token = minter.mintSync()
      const scopes = [SCOPE.split(' ')[0]]
      out(
        await runScenario({
          id: 'rs-m',
          title: `(m) one token repeated, RFC 9728 metadata on vs off (${alg})`,
          contenders: /** @type {ContenderName[]} */ ([
            'codegrant',
            'codegrant-rfc9728',
            'codegrant-control',
          ]).map((n) =>
            contender(as, n, alg, (url) => ({ url, headers: bearer(token) }), { scopes }),
          ),
          targets: [
            { of: 'codegrant-rfc9728', vs: 'codegrant', target: 0.95 },
            { of: 'codegrant-control', vs: 'codegrant', target: 0.95 },
          ],
          note: 'All check the same scope; the RFC 9728 one also runs the metadata middleware; the control is the first contender again (the noise floor).',
        }),
      )
    }

    if (isSelected('rs-b')) {
      const tokens = await minter.mint(config.distinctTokens)
      out(
        await runScenario({
          id: 'rs-b',
          title: `(b) ${config.distinctTokens} distinct tokens cycled (${alg})`,
          contenders: /** @type {ContenderName[]} */ (['codegrant', 'peer']).map((n) =>
            contender(as, n, alg, (url) => {
              let i = 0
              return {
                url,
                nextHeaders: () => bearer(/** @type {string} */ (tokens[i++ % tokens.length])),
              }
            }),
          ),
          targets: [{ of: 'codegrant', vs: 'peer', target: 1.2 }],
        }),
      )
    }

    for (const cAlg of /** @type {const} */ (['RS256', 'ES256'])) {
      const id = `rs-c-${cAlg.toLowerCase()}`
      if (!isSelected(id)) continue
      const pool = createTokenPool(createMinter({ key: keys[cAlg], issuer: as.issuer }))
      // A first guess of how many requests one run serves; grown from what runs actually use.
      const guess = (cAlg === 'RS256' ? 6000 : 9000) * (config.warmup + config.duration)
      const started = Date.now()
      await pool.ensure(Math.ceil(guess))
      process.stderr.write(
        `  ${id}: minted ${pool.size} ${cAlg} tokens in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      )
      out(
        await runScenario({
          id,
          title: `(c) a never-seen token on every request (${cAlg})`,
          contenders: /** @type {ContenderName[]} */ (['codegrant', 'peer']).map((n) =>
            contender(as, n, cAlg, (url) => {
              const cursor = pool.cursor()
              return {
                url,
                nextHeaders: () => bearer(cursor.take()),
                // Between runs: grow the pool to 1.25x what this run used; repeat the run if
                // it ran out (a token would have been seen twice).
                afterRun: async () => {
                  const retry = cursor.exhausted
                  if (retry)
                    process.stderr.write(`  ${id}: token pool exhausted, repeating the run\n`)
                  await pool.ensure(Math.ceil(cursor.used * 1.25))
                  return retry
                },
              }
            }),
          ),
          targets: [{ of: 'codegrant', vs: 'peer', target: 1.1 }],
          note: 'Tokens pre-minted in the parent; every server process sees each token at most once.',
        }),
      )
    }
    if (isSelected('rs-fastify-c')) {
      const pool = createTokenPool(createMinter({ key: keys.RS256, issuer: as.issuer }))
      await pool.ensure(Math.ceil(6000 * (config.warmup + config.duration)))
      out(
        await runScenario({
          id: 'rs-fastify-c',
          title: '(fastify c) a never-seen token on every request (RS256)',
          contenders: /** @type {ContenderName[]} */ (['fastify-codegrant', 'fastify-jwt']).map(
            (n) =>
              contender(as, n, 'RS256', (url) => {
                const cursor = pool.cursor()
                return {
                  url,
                  nextHeaders: () => bearer(cursor.take()),
                  afterRun: async () => {
                    const retry = cursor.exhausted
                    await pool.ensure(Math.ceil(cursor.used * 1.25))
                    return retry
                  },
                }
              }),
          ),
          targets: [{ of: 'fastify-codegrant', vs: 'fastify-jwt', target: 1.1 }],
          note: 'Tokens pre-minted in the parent; every server process sees each token at most once.',
        }),
      )
    }
  } finally {
    await as.close()
  }
  const file = writeResults('resource-server', results)
  process.stderr.write(`  wrote ${file}\n`)
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
