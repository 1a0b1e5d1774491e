// A tiny loopback authorization-server stand-in: discovery metadata and the JWKS, nothing else.

import { createServer } from 'node:http'

/**
 * Starts the metadata server on 127.0.0.1 (random port).
 * @param {{ jwks: unknown }} options
 * @returns {Promise<{ issuer: string, jwksUri: string, jwksFetches: () => number, close: () => Promise<void> }>}
 */
export async function startMetadataServer({ jwks }) {
  let fetches = 0
  /** @type {string} */
  let issuer = ''
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    /** @type {unknown} */
    let body
    if (path === '/jwks.json') {
      fetches++
      body = jwks
    } else if (
      path === '/.well-known/openid-configuration' ||
      path === '/.well-known/oauth-authorization-server'
    ) {
      body = {
        issuer,
        jwks_uri: `${issuer}/jwks.json`,
        token_endpoint: `${issuer}/token`,
        authorization_endpoint: `${issuer}/authorize`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      }
    } else {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  issuer = `http://127.0.0.1:${address.port}`
  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    jwksFetches: () => fetches,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
