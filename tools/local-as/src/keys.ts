import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** @internal Fresh signing keys (RS256 first: the default for ID tokens), private and public. */
export async function generateSigningKeys(): Promise<{ privateJwks: JWK[]; publicJwks: JWK[] }> {
  const privateJwks: JWK[] = []
  const publicJwks: JWK[] = []
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const pub = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(pub)
    publicJwks.push({ ...pub, kid, alg, use: 'sig' })
    privateJwks.push({ ...(await exportJWK(privateKey)), kid, alg, use: 'sig' })
  }
  return { privateJwks, publicJwks }
}
