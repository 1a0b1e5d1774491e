import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../src/loopback.js'
import { assertSecureUrl } from '../src/secure-url.js'

describe('isLoopbackHost', () => {
  it('accepts hosts that never leave the machine', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.1.2.3',
      '127.9.9.9',
      '127.255.255.255',
      '127.0.0.0',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
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
      '192.168.1.1',
      'example.com',
      '',
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
      '::',
      '[::ffff:7f00:1]',
      '::ffff:127.0.0.1',
      '[::1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })

  it('agrees with the URL parser: every spelling it prints as a loopback host is accepted', () => {
    for (const url of [
      'http://[0:0::1]/',
      'http://127.1/',
      'http://0x7f.0.0.1/',
      'http://LocalHost/',
    ]) {
      expect(isLoopbackHost(new URL(url).hostname), url).toBe(true)
    }
  })
})

describe('assertSecureUrl', () => {
  it('accepts https anywhere and http to a loopback host', () => {
    for (const url of [
      'https://as.example.com/',
      'http://localhost:3000/',
      'http://127.0.0.2/',
      'http://[::1]/',
    ]) {
      expect(() => assertSecureUrl(new URL(url), 'issuer'), url).not.toThrow()
    }
  })
  it('refuses http elsewhere and any other scheme, naming the option', () => {
    for (const url of [
      'http://as.example.com/',
      'http://127.evil.com/',
      'ftp://localhost/',
      'file:///x',
    ]) {
      expect(() => assertSecureUrl(new URL(url), 'jwksUri'), url).toThrow(
        new TypeError('"jwksUri" must be an https: URL (http: is allowed only for loopback hosts)'),
      )
    }
  })
})
