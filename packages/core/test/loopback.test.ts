import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../src/options.js'

describe('isLoopbackHost', () => {
  it('accepts hosts that never leave the machine', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) {
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
})
