// One verifier trusting two real oidc-provider issuers (each with its own discovery and JWKS),
// several audiences, and refusing a third issuer's tokens without a request to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultAudience, startLocalAs, type LocalAs } from '@codegrant/local-as'
import { createVerifier, ResourceServerError } from '@codegrant/resource-server'
import { getAccessToken } from './resource-server-helpers.js'

const otherAudience = 'urn:codegrant:second-api'
let first: LocalAs
let second: LocalAs
let stranger: LocalAs

beforeAll(async () => {
  const resourceServers = {
    [defaultAudience]: { scope: 'read:messages write:messages' },
    [otherAudience]: { scope: 'read:messages' },
  }
  ;[first, second, stranger] = await Promise.all([
    startLocalAs({ resourceServers }),
    startLocalAs({ resourceServers }),
    startLocalAs({ resourceServers }),
  ])
})
afterAll(async () => {
  await Promise.all([first.close(), second.close(), stranger.close()])
})

function recordingFetch() {
  const calls: string[] = []
  const fetchImpl: typeof fetch = (input, init) => {
    calls.push(String(input))
    return fetch(input, init)
  }
  return { calls, fetch: fetchImpl }
}

const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

describe('createVerifier with several issuers and audiences', () => {
  it("accepts tokens of each trusted issuer, each from that issuer's own keys", async () => {
    const recorder = recordingFetch()
    const verifier = createVerifier({
      issuer: [first.issuer, second.issuer],
      audience: [defaultAudience, otherAudience],
      fetch: recorder.fetch,
    })
    const a = await getAccessToken(first, { resource: defaultAudience })
    const b = await getAccessToken(second, { resource: otherAudience })
    expect((await verifier.verify(request(a))).claims.iss).toBe(first.issuer)
    expect((await verifier.verify(request(b))).claims.iss).toBe(second.issuer)
    const origins = new Set(recorder.calls.map((url) => new URL(url).origin))
    expect(origins).toEqual(new Set([first.issuer, second.issuer]))
    // One discovery per issuer, each giving its own JWKS.
    expect(recorder.calls.filter((url) => url.includes('/.well-known/')).length).toBe(2)
  })

  it("refuses a third issuer's token without any request, and a foreign audience", async () => {
    const recorder = recordingFetch()
    const verifier = createVerifier({
      issuer: [first.issuer, second.issuer],
      audience: [defaultAudience],
      fetch: recorder.fetch,
    })
    const foreign = await getAccessToken(stranger, { resource: defaultAudience })
    const err = await verifier.verify(request(foreign)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResourceServerError)
    expect((err as ResourceServerError).code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect((err as ResourceServerError).description).toContain('"iss"')
    expect(recorder.calls).toEqual([])

    const otherApi = await getAccessToken(first, { resource: otherAudience })
    const aud = await verifier.verify(request(otherApi)).catch((e: unknown) => e)
    expect((aud as ResourceServerError).code).toBe('ERR_TOKEN_CLAIM_INVALID')
    expect((aud as ResourceServerError).description).toContain('"aud"')
  })
})
