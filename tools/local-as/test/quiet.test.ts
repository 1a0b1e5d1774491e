import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { startLocalAs } from '../src/index.js'

// Its own file (own module state): the console spies must be installed before any local AS
// starts, so that they stand for the real console underneath the notice filter.
const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
const info = vi.spyOn(console, 'info').mockImplementation(() => {})

beforeAll(() => {
  warn.mockClear()
  info.mockClear()
})
afterAll(() => {
  warn.mockRestore()
  info.mockRestore()
})

it('sends oidc-provider notices to the logger, never to the console', async () => {
  const messages: string[] = []
  const as = await startLocalAs({ logger: { warn: (m) => messages.push(m) } })
  try {
    const response = await fetch(new URL('/.well-known/openid-configuration', as.issuer))
    expect(response.status).toBe(200)
  } finally {
    await as.close()
  }
  expect(warn).not.toHaveBeenCalled()
  expect(info).not.toHaveBeenCalled()
  expect(messages.some((m) => m.startsWith('oidc-provider WARNING'))).toBe(true)
})

it('is silent by default and restores the console after close', async () => {
  const as = await startLocalAs()
  await as.close()
  expect(warn).not.toHaveBeenCalled()
  console.warn('oidc-provider WARNING: printed after close')
  expect(warn).toHaveBeenCalledTimes(1)
})
