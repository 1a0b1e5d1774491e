import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../src/options.js'

describe('isLoopbackHost', () => {
  it('accepts hosts that never leave the machine', () => {
    for (const host of ['localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
  })
  it('refuses *.localhost (a resolver may send it to DNS) and everything else', () => {
    for (const host of ['evil.localhost', 'localhost.evil.com', '192.168.1.1', 'example.com']) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
})
