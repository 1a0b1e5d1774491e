// toCodegrantError names the AS's `error` in the message only when it is a plain code; anything
// else (markup, a token, a long string) stays in `err.error` and the message says "an error"
// (issue 15 mutation pass, mutant token-error-echoed).
import { describe, expect, it } from 'vitest'
import { refreshTokens } from '../src/refresh.js'
import { failure, setupFakeAs } from './helpers/clients.js'
import { json } from './helpers/fake-as.js'

describe('the AS error code in messages', () => {
  it('names a plain error code, and never puts any other error string into the message', async () => {
    const { as, client } = await setupFakeAs()
    const answered = (error: string) => {
      as.token = () => json({ error }, 400)
      return failure(refreshTokens(client, 'rt-echo'))
    }
    const plain = await answered('temporarily_unavailable')
    expect(plain.code).toBe('ERR_TOKEN_ERROR')
    expect(plain.message).toContain('answered temporarily_unavailable (HTTP 400)')
    for (const error of [
      '<script>alert(1)</script>',
      'invalid request for rt-echo',
      'x'.repeat(65),
      'line\nbreak',
    ]) {
      const err = await answered(error)
      expect(err.code, error).toBe('ERR_TOKEN_ERROR')
      expect(err.message, error).toContain('answered an error (HTTP 400)')
      expect(err.message, error).not.toContain(error)
      expect(err.message, error).not.toContain('rt-echo')
      expect(err.error, error).toBe(error)
    }
  })
})
