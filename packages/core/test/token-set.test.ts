import { describe, expect, it } from 'vitest'
import type { TokenEndpointResponse } from 'openid-client'
import { isExpired } from '../src/expiry.js'
import { toTokenSet } from '../src/token-set.js'

const response = (r: Record<string, unknown>) => r as unknown as TokenEndpointResponse

describe('toTokenSet', () => {
  it('normalises a response', () => {
    expect(
      toTokenSet(
        response({
          access_token: 'a',
          token_type: 'dpop',
          expires_in: 60.7,
          scope: 's',
          refresh_token: 'r',
          id_token: 'i',
        }),
        undefined,
        1000,
      ),
    ).toEqual({
      access_token: 'a',
      token_type: 'DPoP',
      expires_at: 1060,
      scope: 's',
      refresh_token: 'r',
      id_token: 'i',
    })
  })

  it('keeps the previous refresh_token and id_token when absent', () => {
    expect(
      toTokenSet(
        response({ access_token: 'a', token_type: 'Bearer' }),
        { refresh_token: 'r0', id_token: 'i0' },
        0,
      ),
    ).toEqual({
      access_token: 'a',
      token_type: 'Bearer',
      refresh_token: 'r0',
      id_token: 'i0',
    })
  })

  it('refuses an unknown token_type', () => {
    expect(() => toTokenSet(response({ access_token: 'a', token_type: 'mac' }))).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_TYPE_UNSUPPORTED' }),
    )
  })
})

describe('isExpired', () => {
  it('compares expires_at with a margin', () => {
    expect(isExpired({ expires_at: 1000 }, 0, 999)).toBe(false)
    expect(isExpired({ expires_at: 1000 }, 0, 1000)).toBe(true)
    expect(isExpired({ expires_at: 1000 }, 30, 970)).toBe(true)
    expect(isExpired({ expires_at: 1000 }, 30, 969)).toBe(false)
    expect(isExpired({}, 30, 1e12)).toBe(false)
    expect(isExpired({ expires_at: Date.now() / 1000 + 3600 })).toBe(false)
    expect(() => isExpired({ expires_at: 1 }, -1)).toThrow(TypeError)
  })
})
