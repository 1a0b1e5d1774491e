import { describe, expect, it } from 'vitest'
import { createClient } from '../src/client.js'
import { isLoopbackHost } from '../src/options.js'

describe('isLoopbackHost', () => {
  it('accepts hosts that never leave the machine', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.1.2.3',
      '127.255.255.255',
      '127.0.0.0',
      '::1',
      '[::1]',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
  })
  it('refuses *.localhost (a resolver may send it to DNS) and everything else', () => {
    for (const host of [
      'evil.localhost',
      'localhost.evil.com',
      '10.0.0.1',
      '128.0.0.1',
      'example.com',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
  it('refuses DNS names and malformed addresses that start with 127 (regression, issue 15)', () => {
    for (const host of [
      '127.evil.com',
      '127.0.0.1.evil.com',
      '127.0.0.1.nip.io',
      '127.0.0.evil',
      '127.0.0.1.',
      '127.256.0.1',
      '127.999.999.999',
      '127.0.0',
      '1270.0.0.1',
      '127',
      '::2',
      '[::ffff:7f00:1]',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
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
