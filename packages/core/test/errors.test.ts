import { describe, expect, it } from 'vitest'
import { CodegrantError, isCodegrantError } from '../src/errors.js'

describe('CodegrantError', () => {
  it('keeps code, OAuth details and cause', () => {
    const cause = new Error('low level')
    const err = new CodegrantError('ERR_TOKEN_ERROR', 'token endpoint refused the grant', {
      cause,
      error: 'invalid_client',
      status: 401,
    })
    expect(err.code).toBe('ERR_TOKEN_ERROR')
    expect(err.error).toBe('invalid_client')
    expect(err.status).toBe(401)
    expect(err.cause).toBe(cause)
    expect(err.name).toBe('CodegrantError')
    expect(isCodegrantError(err, 'ERR_TOKEN_ERROR')).toBe(true)
    expect(isCodegrantError(err, 'ERR_TIMEOUT')).toBe(false)
    expect(isCodegrantError(new Error('x'))).toBe(false)
  })
})
