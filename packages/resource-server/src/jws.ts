import { createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import type { VerifyParams } from './algorithms.js'

/** Three base64url segments: a compact JWS (a JWE has five, an opaque token usually one). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** True when the string has the shape of a compact JWS (no decoding done). */
export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token)
}

/** Decodes a base64url JSON object; undefined when it is not one. */
export function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/**
 * Verifies a JWS signature with node:crypto on a pre-imported key. The check runs on libuv's
 * thread pool (the callback form of `crypto.verify`), so the event loop keeps serving requests.
 * Never throws: any failure is `false`.
 */
export function verifySignature(
  params: VerifyParams,
  signingInput: string,
  signature: Buffer,
): Promise<boolean> {
  if (params.signatureLength !== undefined && signature.length !== params.signatureLength)
    return Promise.resolve(false)
  return new Promise((resolve) => {
    try {
      verify(params.digest, Buffer.from(signingInput, 'latin1'), params.key, signature, (err, ok) =>
        resolve(err === null && ok),
      )
    } catch {
      resolve(false)
    }
  })
}

/** Verifies an HS256/384/512 signature in constant time. */
export function verifyHmac(
  alg: string,
  secret: KeyObject,
  signingInput: string,
  signature: Buffer,
) {
  const expected = createHmac(`sha${alg.slice(2)}`, secret)
    .update(signingInput, 'latin1')
    .digest()
  return expected.length === signature.length && timingSafeEqual(expected, signature)
}
