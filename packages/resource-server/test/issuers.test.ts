import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier, ResourceServerError, warmUp, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, bearer, fakeAs, ISSUER, makeKey, mint, type SigningKey } from './helpers.js'

const SECOND = 'https://login.partner.example'
let rsa: SigningKey
let partner: SigningKey

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1')
  partner = await makeKey('ES256', 'partner-1')
})
afterEach(() => {
  vi.restoreAllMocks()
})

/** The helpers' AS for ISSUER, plus a second AS at SECOND, counting requests per AS. */
function twoServers(secondIssuerInDocument = SECOND) {
  const first = fakeAs([rsa.publicJwk])
  const counts = { discovery: 0, jwks: 0 }
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input)
    if (!url.startsWith(SECOND)) return first.fetch(input, init)
    if (url === `${SECOND}/.well-known/openid-configuration`) {
      counts.discovery++
      return Response.json({ issuer: secondIssuerInDocument, jwks_uri: `${SECOND}/keys` })
    }
    if (url === `${SECOND}/keys`) {
      counts.jwks++
      return Response.json({ keys: [partner.publicJwk] })
    }
    return new Response('not found', { status: 404 })
  }
  return { first, second: counts, fetch: fetchImpl }
}

async function refusal(promise: Promise<unknown>): Promise<ResourceServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ResourceServerError)
  return err as ResourceServerError
}

function setup(options: Partial<VerifierOptions> = {}, servers = twoServers()) {
  const verifier = createVerifier({
    issuer: [ISSUER, SECOND],
    audience: [AUDIENCE, 'urn:partner:api'],
    fetch: servers.fetch,
    ...options,
  })
  return { verifier, servers }
}

describe('several issuers', () => {
  it("picks the issuer by the token's iss, each with its own discovery and keys", async () => {
    const { verifier, servers } = setup()
    const ours = await mint(rsa)
    const theirs = await mint(partner, { iss: SECOND, aud: 'urn:partner:api' })
    expect((await verifier.verify(bearer(ours))).claims.iss).toBe(ISSUER)
    expect(servers.second).toEqual({ discovery: 0, jwks: 0 })
    expect((await verifier.verify(bearer(theirs))).claims.iss).toBe(SECOND)
    expect(servers.first.counts).toMatchObject({ discovery: 1, jwks: 1 })
    expect(servers.second).toEqual({ discovery: 1, jwks: 1 })
  })

  it("refuses a key of one issuer for a token claiming the other's iss", async () => {
    const { verifier } = setup()
    // Signed by the partner's key but claiming our issuer: our JWKS does not have that kid.
    const forged = await mint(partner, { iss: ISSUER })
    expect((await refusal(verifier.verify(bearer(forged)))).code).toBe('ERR_TOKEN_KEY_NOT_FOUND')
  })

  it('an unknown iss costs no request at all', async () => {
    const { verifier, servers } = setup()
    for (const iss of ['https://evil.example', 'not a url', 42]) {
      const err = await refusal(verifier.verify(bearer(await mint(rsa, { iss }))))
      expect(err.code).toBe('ERR_TOKEN_CLAIM_INVALID')
      expect(err.description).toBe('The access token "iss" claim is missing or invalid')
    }
    expect(servers.first.requests).toEqual([])
    expect(servers.second).toEqual({ discovery: 0, jwks: 0 })
  })

  it('refuses a token without iss when there are several issuers, without a request', async () => {
    const { verifier, servers } = setup()
    const err = await refusal(verifier.verify(bearer(await mint(rsa, { iss: undefined }))))
    expect(err.code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect(servers.first.requests).toEqual([])
  })

  it('an issuer whose JWKS is down does not hold up the other', async () => {
    const servers = twoServers()
    servers.first.jwksDown = true
    const { verifier } = setup({}, servers)
    expect((await refusal(verifier.verify(bearer(await mint(rsa))))).status).toBe(503)
    const theirs = await mint(partner, { iss: SECOND, aud: 'urn:partner:api' })
    await expect(verifier.verify(bearer(theirs))).resolves.toBeDefined()
  })

  it('takes per-issuer discoveryUrl / jwksUri, and refuses the top-level ones with several', () => {
    expect(() =>
      createVerifier({ issuer: [ISSUER, SECOND], audience: AUDIENCE, jwksUri: `${ISSUER}/jwks` }),
    ).toThrow('"discoveryUrl" and "jwksUri" apply to one issuer')
    expect(() => createVerifier({ issuer: [ISSUER, `${ISSUER}/`], audience: AUDIENCE })).toThrow(
      '"issuer[1]" names an issuer twice',
    )
    expect(() => createVerifier({ issuer: [], audience: AUDIENCE })).toThrow('"issuer"')
    expect(() =>
      createVerifier({
        issuer: [ISSUER, { issuer: SECOND, jwksUri: 'http://x.example/k' }],
        audience: AUDIENCE,
      }),
    ).toThrow('"issuer[1].jwksUri"')
  })

  it('uses an entry with its own jwksUri without discovery', async () => {
    const servers = twoServers()
    const verifier = createVerifier({
      issuer: [ISSUER, { issuer: SECOND, jwksUri: `${SECOND}/keys` }],
      audience: 'urn:partner:api',
      fetch: servers.fetch,
    })
    const theirs = await mint(partner, { iss: SECOND, aud: 'urn:partner:api' })
    await expect(verifier.verify(bearer(theirs))).resolves.toBeDefined()
    expect(servers.second).toEqual({ discovery: 0, jwks: 1 })
  })
})

describe('one issuer', () => {
  it('refuses a token without iss once its signature is checked (found by the mutation pass)', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const err = await refusal(verifier.verify(bearer(await mint(rsa, { iss: undefined }))))
    expect(err.code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect(err.description).toBe('The access token "iss" claim is missing or invalid')
  })
})

describe('audience binding (RFC 8707, RFC 9068 §4)', () => {
  it('takes audience as a string, as the docs say, and refuses a token for another resource', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
    await expect(
      verifier.verify(bearer(await mint(rsa, { aud: ['https://other.example', AUDIENCE] }))),
    ).resolves.toBeDefined()
    for (const aud of [
      'https://other.example',
      ['https://other.example'],
      undefined,
      `${AUDIENCE}/`,
    ]) {
      const err = await refusal(verifier.verify(bearer(await mint(rsa, { aud }))))
      expect(err.code).toBe('ERR_TOKEN_CLAIM_INVALID')
      expect(err.description).toContain('"aud"')
    }
  })
})

describe('issuer identifiers (issue 14)', () => {
  it('treats an origin with and without its trailing slash as one issuer, as core does', async () => {
    const as = fakeAs([rsa.publicJwk], { issuer: ISSUER })
    const verifier = createVerifier({ issuer: `${ISSUER}/`, audience: AUDIENCE, fetch: as.fetch })
    await expect(verifier.verify(bearer(await mint(rsa)))).resolves.toBeDefined()
    await expect(
      verifier.verify(bearer(await mint(rsa, { iss: `${ISSUER}/` }))),
    ).resolves.toBeDefined()
  })

  it('names the expected and the found issuer on a mismatch, and warns once without a logger', async () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    const as = fakeAs([rsa.publicJwk], { issuer: 'http://127.0.0.1:3000' })
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    const err = await refusal(warmUp(verifier))
    expect(err.code).toBe('ERR_ISSUER_MISMATCH')
    expect(err.status).toBe(503)
    const message = (err.cause as Error).message
    expect(message).toContain(`"${ISSUER}" is expected`)
    expect(message).toContain('"http://127.0.0.1:3000"')
    // The public description says nothing internal.
    expect(err.description).toBe('Token validation is unavailable')
    await refusal(verifier.verify(bearer(await mint(rsa))))
    expect(emit).toHaveBeenCalledTimes(1)
    expect(String(emit.mock.calls[0]![0])).toContain('"http://127.0.0.1:3000"')
  })

  it('sends the mismatch to the logger when there is one', async () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    const warn = vi.fn()
    const as = fakeAs([rsa.publicJwk], { issuer: `${ISSUER}/realm/` })
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: as.fetch,
      logger: { warn },
    })
    await refusal(warmUp(verifier))
    expect(warn).toHaveBeenCalledOnce()
    expect(warn.mock.calls[0]![0]).toContain(`"${ISSUER}/realm/"`)
    expect(emit).not.toHaveBeenCalled()
  })

  it('warmUp() resolves once discovery and keys are loaded', async () => {
    const as = fakeAs([rsa.publicJwk])
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: as.fetch })
    await warmUp(verifier)
    expect(as.counts).toMatchObject({ discovery: 1, jwks: 1 })
    await verifier.verify(bearer(await mint(rsa)))
    expect(as.counts).toMatchObject({ discovery: 1, jwks: 1 })
  })
})
