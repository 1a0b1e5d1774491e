// resolveOptions: the option checks that keep a misconfiguration from weakening the protocol
// (issue 15 mutation pass: each test here kills a mutant of scripts/mutants/core.mjs).
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_RESPONSE_SIZE, resolveOptions } from '../src/options.js'
import { refreshTokens } from '../src/refresh.js'
import { createRecordingClient, failure } from './helpers/clients.js'

const base = {
  issuer: 'https://as.example.com',
  clientId: 'client-1',
  clientSecret: 's3cret',
  redirectUri: 'https://app.example.com/callback',
}

describe('resolveOptions', () => {
  it('refuses a symmetric or unsigned "idTokenSignedResponseAlg" (mutant symmetric-id-token-alg-allowed)', () => {
    for (const alg of ['HS256', 'HS384', 'HS512', 'none']) {
      expect(() => resolveOptions({ ...base, idTokenSignedResponseAlg: alg }), alg).toThrow(
        new TypeError('"idTokenSignedResponseAlg" must be an asymmetric JWS algorithm'),
      )
    }
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
      expect(
        resolveOptions({ ...base, idTokenSignedResponseAlg: alg }).idTokenSignedResponseAlg,
      ).toBe(alg)
    }
  })

  it('bounds response bodies to 1 MiB by default (mutant response-size-limit-off)', async () => {
    expect(resolveOptions(base).maxResponseSize).toBe(1_048_576)
    expect(resolveOptions({ ...base, maxResponseSize: 4096 }).maxResponseSize).toBe(4096)
    // A client with no "maxResponseSize" refuses a token response one byte over 1 MiB, streamed
    // without a Content-Length, and accepts one just under it.
    const padded = (size: number) => {
      const head = '{"access_token":"at","token_type":"Bearer","pad":"'
      const body = `${head}${'x'.repeat(size - head.length - 2)}"}`
      return new Response(new Blob([body]).stream(), {
        headers: { 'content-type': 'application/json' },
      })
    }
    const { client } = await createRecordingClient((_req, index) =>
      padded(index === 0 ? DEFAULT_MAX_RESPONSE_SIZE + 1 : DEFAULT_MAX_RESPONSE_SIZE),
    )
    const err = await failure(refreshTokens(client, 'rt-1'))
    expect(err.code).toBe('ERR_RESPONSE_TOO_LARGE')
    await expect(refreshTokens(client, 'rt-2')).resolves.toMatchObject({
      tokens: { access_token: 'at' },
    })
  })
})
