import { describe, expect, it } from 'vitest'
import {
  buildWwwAuthenticate,
  ERROR_TABLE,
  ResourceServerError,
  toErrorResponse,
} from '../src/index.js'

describe('buildWwwAuthenticate', () => {
  it('builds the contract challenge for insufficient_scope exactly', () => {
    expect(
      buildWwwAuthenticate('Bearer', { error: 'insufficient_scope', scope: 'read:messages' }),
    ).toBe('Bearer error="insufficient_scope", scope="read:messages"')
  })

  it('orders realm first and leaves out undefined params', () => {
    expect(
      buildWwwAuthenticate('Bearer', {
        scope: 'a b',
        error: 'invalid_token',
        realm: 'api',
        error_description: undefined,
      }),
    ).toBe('Bearer realm="api", error="invalid_token", scope="a b"')
    expect(buildWwwAuthenticate('DPoP', {})).toBe('DPoP')
  })

  it('escapes quotes and backslashes and strips control characters', () => {
    const header = buildWwwAuthenticate('Bearer', {
      realm: 'a "quoted" \\ realm',
      error_description: 'line1\r\nSet-Cookie: x=1\u00e9',
    })
    expect(header).toBe(
      'Bearer realm="a \\"quoted\\" \\\\ realm", error_description="line1??Set-Cookie: x=1?"',
    )
    expect(header).not.toMatch(/[\r\n]/)
  })
})

describe('ResourceServerError', () => {
  it('answers a request without a token with a bare realm challenge (RFC 6750 §3.1)', () => {
    const err = new ResourceServerError('ERR_TOKEN_MISSING', { realm: 'api' })
    expect(err.status).toBe(401)
    expect(err.error).toBeUndefined()
    expect(err.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('maps every code through the one table', () => {
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      const err = new ResourceServerError(code as keyof typeof ERROR_TABLE)
      expect(err.status).toBe(row.status)
      expect(err.error).toBe(row.error)
      expect(err.message).toBe(row.description)
      if (row.status >= 500) expect(err.headers['www-authenticate']).toBeUndefined()
      else expect(err.headers['www-authenticate']).toMatch(/^Bearer/)
    }
  })

  it('adds step-up and DPoP details to the challenge', () => {
    const stepUp = new ResourceServerError('ERR_INSUFFICIENT_USER_AUTHENTICATION', {
      acrValues: 'urn:mace:incommon:iap:silver',
      maxAge: 300,
    })
    expect(stepUp.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A stronger or more recent user authentication is required", acr_values="urn:mace:incommon:iap:silver", max_age="300"',
    )
    const nonce = new ResourceServerError('ERR_DPOP_NONCE_REQUIRED', {
      scheme: 'DPoP',
      algs: 'ES256',
      dpopNonce: 'n1',
    })
    expect(nonce.headers['www-authenticate']).toMatch(/^DPoP error="use_dpop_nonce"/)
    expect(nonce.headers['www-authenticate']).toContain('algs="ES256"')
    expect(nonce.headers['dpop-nonce']).toBe('n1')
  })

  it('builds a public response without internals', () => {
    const err = new ResourceServerError('ERR_KEYS_UNAVAILABLE', {
      cause: new Error('ECONNREFUSED 10.0.0.1'),
    })
    const response = toErrorResponse(err)
    expect(response.status).toBe(503)
    expect(response.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'Token validation is unavailable',
    })
    expect(JSON.stringify(response)).not.toContain('ECONNREFUSED')
  })
})
