import { describe, expect, it } from 'vitest'
import { createClient } from '../src/client.js'

// The host rule itself: packages/internal/test/loopback.test.ts.
describe('createClient and loopback hosts', () => {
  it('refuses plain http to 127.evil.com as the issuer', async () => {
    await expect(
      createClient({
        issuer: 'http://127.evil.com',
        clientId: 'c',
        redirectUri: 'http://127.0.0.1/callback',
      }),
    ).rejects.toThrow('"issuer" must be an https: URL (http: is allowed only for loopback hosts)')
  })
})
