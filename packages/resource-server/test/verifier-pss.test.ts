import { describe, expect, it } from 'vitest'
import { createVerifier, ResourceServerError } from '../src/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint } from './helpers.js'

describe('createVerifier: RSASSA-PSS', () => {
  it('accepts PS256 and PS512 tokens signed by the published key', async () => {
    for (const alg of ['PS256', 'PS512']) {
      const key = await makeKey(alg, `pss-${alg}`)
      const as = fakeAs([key.publicJwk])
      const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
      const auth = await verifier.verify(bearer(await mint(key)))
      expect(auth.sub).toBe('user-1')
    }
  })

  it('refuses a PS256 token whose signature was made by another key with the same kid', async () => {
    const key = await makeKey('PS256', 'pss-1')
    const forger = await makeKey('PS256', 'pss-1')
    const as = fakeAs([key.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const err = await verifier.verify(bearer(await mint(forger))).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ResourceServerError)
    expect((err as ResourceServerError).code).toBe('ERR_TOKEN_SIGNATURE')
  })
})
