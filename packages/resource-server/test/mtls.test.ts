import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, ResourceServerError } from '../src/index.js'
import { certificateThumbprint } from '../src/mtls.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, type SigningKey } from './helpers.js'

const PEM = readFileSync(new URL('./fixtures/client.pem', import.meta.url), 'utf8')

let rsa: SigningKey
let der: Buffer
beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  der = Buffer.from('30820101a003020102', 'hex') // opaque bytes stand in for a DER certificate
})

describe('mTLS-bound tokens (RFC 8705)', () => {
  it('accepts the bound certificate and refuses others or none', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const x5t = createHash('sha256').update(der).digest('base64url')
    const token = await mint(rsa, { cnf: { 'x5t#S256': x5t } })
    await expect(
      verifier.verify({ ...bearer(token), clientCertificate: der }),
    ).resolves.toMatchObject({ sub: 'user-1' })
    for (const clientCertificate of [undefined, Buffer.from('other')]) {
      const err = await verifier
        .verify({ ...bearer(token), clientCertificate })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ResourceServerError)
      expect((err as ResourceServerError).code).toBe('ERR_TOKEN_BINDING')
    }
  })

  it('computes the thumbprint of an X509Certificate from its DER', () => {
    const cert = new X509Certificate(PEM)
    const expected = createHash('sha256').update(cert.raw).digest('base64url')
    expect(certificateThumbprint(cert)).toBe(expected)
    expect(certificateThumbprint(PEM)).toBe(expected)
    expect(certificateThumbprint(cert.raw)).toBe(expected)
    expect(certificateThumbprint('not a certificate')).toBeUndefined()
  })
})
