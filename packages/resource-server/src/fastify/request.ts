import type { FastifyRequest } from 'fastify'
import type { VerifyRequest } from '../extract.js'
import { peerCertificate } from '../mtls.js'

/**
 * The view of a Fastify request that the verifier reads. Getters are lazy: the request URL
 * (DPoP `htu`) and the client certificate (RFC 8705) are computed only when a token needs them.
 */
export class FastifyVerifyRequest implements VerifyRequest {
  constructor(private readonly request: FastifyRequest) {}

  get headers(): VerifyRequest['headers'] {
    return this.request.headers
  }

  get method(): string {
    return this.request.method
  }

  /**
   * As the client addressed it: `request.protocol` and `request.host` honour Fastify's
   * `trustProxy` (`X-Forwarded-Proto`, `X-Forwarded-Host`); `originalUrl` is the path before any
   * `rewriteUrl`.
   */
  get url(): string {
    return `${this.request.protocol}://${this.request.host}${this.request.originalUrl}`
  }

  /** The parsed body: set in `preHandler`, still undefined in `onRequest`. */
  get body(): unknown {
    return this.request.body
  }

  get query(): unknown {
    return this.request.query
  }

  /** From the TLS socket under Fastify (`request.raw.socket`). */
  get clientCertificate(): Uint8Array | undefined {
    return peerCertificate(this.request.raw.socket)
  }
}
