import { createHash, X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { ResourceServerError } from './errors.js'

/**
 * The RFC 8705 `x5t#S256` of a certificate: base64url SHA-256 of its DER encoding. Undefined
 * when the input is not a certificate.
 */
export function certificateThumbprint(
  certificate: X509Certificate | Uint8Array | string,
): string | undefined {
  try {
    const der =
      certificate instanceof X509Certificate
        ? certificate.raw
        : typeof certificate === 'string'
          ? new X509Certificate(certificate).raw
          : certificate
    return createHash('sha256').update(der).digest('base64url')
  } catch {
    return undefined
  }
}

/**
 * Checks a certificate-bound token: the client's TLS certificate must be the one named by
 * `cnf["x5t#S256"]`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
 */
export function checkCertificateBinding(
  expected: string,
  certificate: X509Certificate | Uint8Array | string | undefined,
): void {
  if (certificate === undefined || certificateThumbprint(certificate) !== expected)
    throw new ResourceServerError('ERR_TOKEN_BINDING', {
      description: 'The access token is bound to a client certificate that was not presented',
    })
}

/**
 * The client certificate of a TLS connection (DER bytes), for RFC 8705 binding: undefined on a
 * plain socket or when the client sent none. Every adapter reads it from Node's socket this way.
 *
 * @internal
 */
export function peerCertificate(socket: object): Uint8Array | undefined {
  const tls = socket as Partial<TLSSocket>
  if (tls.encrypted !== true || typeof tls.getPeerCertificate !== 'function') return undefined
  const raw = tls.getPeerCertificate().raw as Buffer | undefined
  return raw === undefined || raw.length === 0 ? undefined : raw
}
