import { wellKnownMetadataUrl } from './options.js'
import { getInternals, type Verifier } from './verifier.js'

/**
 * An RFC 9728 protected resource metadata document, as served by
 * {@link handleProtectedResourceMetadata}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2 RFC 9728 §2
 */
export interface ProtectedResourceMetadata {
  readonly resource: string
  readonly authorization_servers: readonly string[]
  readonly scopes_supported?: readonly string[]
  readonly bearer_methods_supported: readonly ('header' | 'body' | 'query')[]
  readonly resource_signing_alg_values_supported?: readonly string[]
  readonly resource_name?: string
  readonly resource_documentation?: string
  readonly tls_client_certificate_bound_access_tokens?: boolean
  readonly dpop_signing_alg_values_supported?: readonly string[]
  readonly dpop_bound_access_tokens_required?: boolean
}

/** An HTTP answer, for any framework. */
export interface MetadataResponse {
  status: number
  headers: Record<string, string>
  body: string
}

interface Rendered {
  version: number
  document: ProtectedResourceMetadata
  body: string
}

const rendered = new WeakMap<Verifier, Rendered>()

function internalsOf(verifier: Verifier) {
  const internals = getInternals(verifier)
  if (internals === undefined)
    throw new TypeError('"verifier" must be a verifier made by createVerifier()')
  if (internals.options.resourceMetadata === undefined)
    throw new TypeError('the verifier needs the "resourceMetadata" option')
  return internals
}

function render(verifier: Verifier): Rendered {
  const { options, state } = internalsOf(verifier)
  const cached = rendered.get(verifier)
  if (cached !== undefined && cached.version === state.scopesVersion) return cached
  const meta = options.resourceMetadata!
  const methods: ('header' | 'body' | 'query')[] = ['header']
  if (options.allowBodyToken) methods.push('body')
  if (options.allowQueryToken) methods.push('query')
  const scopes = [...state.scopes]
  const document: ProtectedResourceMetadata = {
    resource: meta.resource,
    authorization_servers: meta.authorizationServers,
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    bearer_methods_supported: methods,
    ...(meta.resourceSigningAlgorithms !== undefined
      ? { resource_signing_alg_values_supported: meta.resourceSigningAlgorithms }
      : {}),
    ...(meta.resourceName !== undefined ? { resource_name: meta.resourceName } : {}),
    ...(meta.resourceDocumentation !== undefined
      ? { resource_documentation: meta.resourceDocumentation }
      : {}),
    ...(meta.mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
    ...(options.dpopConfigured
      ? {
          dpop_signing_alg_values_supported: [...options.dpop.algorithms],
          dpop_bound_access_tokens_required: options.dpop.required,
        }
      : {}),
  }
  const entry = { version: state.scopesVersion, document, body: JSON.stringify(document) }
  rendered.set(verifier, entry)
  return entry
}

/**
 * The RFC 9728 protected resource metadata of a verifier made with the `resourceMetadata`
 * option: `resource`, `authorization_servers`, `scopes_supported` (the configured scopes, the
 * verifier's required scopes and those its route guards registered), `bearer_methods_supported`,
 * and the DPoP (when the `dpop` option is set) and mTLS fields.
 *
 * @throws {TypeError} for a verifier without `resourceMetadata`.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2 RFC 9728 §2
 */
export function getProtectedResourceMetadata(verifier: Verifier): ProtectedResourceMetadata {
  return structuredClone(render(verifier).document)
}

/**
 * The paths the metadata is served at: the path of `resourceMetadata.url` and, for an http(s)
 * resource identifier, the well-known path derived from it (RFC 9728 §3.1: the resource's path
 * inserted after `/.well-known/oauth-protected-resource`).
 */
export function protectedResourceMetadataPaths(verifier: Verifier): readonly string[] {
  const meta = internalsOf(verifier).options.resourceMetadata!
  const paths = [meta.url.pathname]
  const derived = wellKnownMetadataUrl(meta.resource)
  if (
    derived !== undefined &&
    derived.origin === meta.url.origin &&
    !paths.includes(derived.pathname)
  )
    paths.push(derived.pathname)
  return paths
}

/**
 * A framework-agnostic handler for the metadata document. For a request to one of
 * {@link protectedResourceMetadataPaths}: `GET`/`HEAD` get 200 with the JSON document (public,
 * cacheable for 5 minutes, readable cross-origin, as browser-based clients need), other methods
 * 405. Any other path: `undefined` (not ours).
 *
 * @param request `path` is the request path without the query string
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 */
export function handleProtectedResourceMetadata(
  verifier: Verifier,
  request: { method: string; path: string },
): MetadataResponse | undefined {
  if (!protectedResourceMetadataPaths(verifier).includes(request.path)) return undefined
  const method = request.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD')
    return {
      status: 405,
      headers: { allow: 'GET, HEAD', 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'method_not_allowed' }),
    }
  const { body } = render(verifier)
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=300',
      'access-control-allow-origin': '*',
    },
    body: method === 'HEAD' ? '' : body,
  }
}
