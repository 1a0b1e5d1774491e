import { LruCache } from '@codegrant/internal'
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose'
import * as openid from 'openid-client'
import { getClientSettings, getConfiguration, type Client } from './client.js'
import { assertDpopKey, getDpopKeyThumbprint, resolveDpopOption, type DpopKey } from './dpop-key.js'
import { CodegrantError } from './errors.js'

/** Bound on the DPoP handles kept per client (each keeps its server nonces). */
const MAX_HANDLES_PER_CLIENT = 1000

const handles = new WeakMap<Client, LruCache<string, Promise<openid.DPoPHandle>>>()

/** Bound on the imported key pairs kept (by thumbprint). */
const MAX_KEY_PAIRS = 1000

const keyPairs = new LruCache<string, Promise<openid.CryptoKeyPair>>(MAX_KEY_PAIRS)

async function importKeyPair(key: DpopKey): Promise<openid.CryptoKeyPair> {
  let privateKey: CryptoKey
  let publicKey: CryptoKey
  try {
    ;[privateKey, publicKey] = (await Promise.all([
      importJWK(key.privateJwk as JWK, key.alg, { extractable: false }),
      importJWK(key.publicJwk as JWK, key.alg, { extractable: true }),
    ])) as [CryptoKey, CryptoKey]
  } catch (cause) {
    throw new CodegrantError('ERR_DPOP', 'the DPoP key could not be imported', { cause })
  }
  if (privateKey.type !== 'private' || publicKey.type !== 'public') {
    throw new CodegrantError('ERR_DPOP', 'the DPoP key pair is not a private/public pair')
  }
  return { privateKey, publicKey }
}

/** The key pair of `key` as CryptoKeys, imported once per thumbprint (bounded LRU). */
function keyPairOf(key: DpopKey, jkt: string): Promise<openid.CryptoKeyPair> {
  const cached = keyPairs.get(jkt)
  if (cached) return cached
  const pair = importKeyPair(key)
  // A failed import must not stay cached.
  pair.catch(() => keyPairs.delete(jkt, pair))
  keyPairs.set(jkt, pair)
  return pair
}

async function createHandle(client: Client, key: DpopKey, jkt: string): Promise<openid.DPoPHandle> {
  const keyPair = await keyPairOf(key, jkt)
  try {
    return openid.getDPoPHandle(getConfiguration(client), keyPair)
  } catch (cause) {
    throw new CodegrantError('ERR_DPOP', 'the DPoP key cannot sign proofs', { cause })
  }
}

/**
 * Signs a DPoP proof for one request: header `typ: dpop+jwt`, the key's `alg` and public
 * `jwk`; claims `jti`, `htm`, `htu` (no query or fragment), `iat`, plus `ath` (the access
 * token's SHA-256) and the server `nonce` when given.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 * @internal
 */
export async function createDpopProof(
  key: DpopKey,
  request: { htm: string; htu: URL; accessToken?: string; nonce?: string },
): Promise<string> {
  const jkt = await getDpopKeyThumbprint(key)
  const { privateKey } = await keyPairOf(key, jkt)
  const claims: Record<string, unknown> = {
    htm: request.htm,
    htu: `${request.htu.origin}${request.htu.pathname}`,
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
  }
  if (request.accessToken !== undefined) {
    const digest = await crypto.subtle.digest(
      'SHA-256',
      new TextEncoder().encode(request.accessToken),
    )
    claims.ath = base64url.encode(new Uint8Array(digest))
  }
  if (request.nonce !== undefined) claims.nonce = request.nonce
  // Only the public members, whatever else the stored JWK carries.
  const { kty, crv, x, y, n, e } = key.publicJwk as JWK
  const publicJwk = Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
  ) as JWK
  try {
    return await new SignJWT(claims)
      .setProtectedHeader({ typ: 'dpop+jwt', alg: key.alg, jwk: publicJwk })
      .setIssuedAt()
      .sign(privateKey)
  } catch (cause) {
    throw new CodegrantError('ERR_DPOP', 'the DPoP proof could not be signed', { cause })
  }
}

/**
 * The openid-client DPoP handle of `key` for `client`. Handles are kept per client and key
 * thumbprint (bounded, least recently used first out), so the server nonces a handle learnt
 * are reused by the next request with the same key, and openid-client's one
 * `use_dpop_nonce` retry starts from the freshest nonce.
 *
 * @internal
 */
export async function getDpopHandle(client: Client, key: DpopKey): Promise<openid.DPoPHandle> {
  const jkt = await getDpopKeyThumbprint(key)
  let perClient = handles.get(client)
  if (!perClient) {
    perClient = new LruCache(MAX_HANDLES_PER_CLIENT)
    handles.set(client, perClient)
  }
  const cached = perClient.get(jkt)
  if (cached) return cached
  const handle = createHandle(client, key, jkt)
  // A failed import must not stay cached.
  handle.catch(() => perClient.delete(jkt, handle))
  perClient.set(jkt, handle)
  return handle
}

/**
 * The DPoP key a call uses: the per-call `key` when given, else the client's `dpop` option.
 *
 * @internal
 */
export function selectDpopKey(client: Client, key: DpopKey | undefined): DpopKey | undefined {
  if (key !== undefined) {
    assertDpopKey(key)
    return key
  }
  return resolveDpopOption(getClientSettings(client).dpop)
}

/**
 * The `options` argument of openid-client calls (`authorizationCodeGrant`, `refreshTokenGrant`,
 * `fetchUserInfo`, `buildAuthorizationUrlWithPAR`, ...): `{ DPoP: handle }` when a key is
 * given or configured on the client, else `{}`.
 *
 * @internal
 */
export async function dpopOptions(
  client: Client,
  key?: DpopKey,
): Promise<{ DPoP?: openid.DPoPHandle }> {
  const selected = selectDpopKey(client, key)
  if (selected === undefined) return {}
  return { DPoP: await getDpopHandle(client, selected) }
}

/**
 * The `dpop_jkt` authorization request parameter for the key a login will use (the per-call
 * key, else the client's), or `undefined` without DPoP. Binds the authorization code to the
 * key, so only its holder can redeem it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-10
 * @internal
 */
export async function dpopJkt(client: Client, key?: DpopKey): Promise<string | undefined> {
  const selected = selectDpopKey(client, key)
  return selected === undefined ? undefined : getDpopKeyThumbprint(selected)
}
