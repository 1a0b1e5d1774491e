import { afterEach, describe, expect, it, vi } from 'vitest'
import { LruCache } from '../src/lru.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('LruCache', () => {
  it('never holds more than maxEntries, evicting the oldest first', () => {
    const cache = new LruCache<number, number>(100)
    for (let i = 0; i < 10_000; i++) cache.set(i, i)
    expect(cache.size).toBe(100)
    expect(cache.get(9_999)).toBe(9_999)
    expect(cache.get(9_900)).toBe(9_900)
    expect(cache.get(9_899)).toBeUndefined()
    expect(cache.get(0)).toBeUndefined()
  })

  it('keeps a recently used entry over older unused ones', () => {
    const cache = new LruCache<string, number>(3)
    cache.set('hot', 1)
    cache.set('a', 2)
    cache.set('b', 3)
    expect(cache.get('hot')).toBe(1) // now the most recently used
    cache.set('c', 4) // evicts a, the least recently used
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('hot')).toBe(1)
    expect(cache.get('b')).toBe(3)
    expect(cache.get('c')).toBe(4)
  })

  it('re-setting a key replaces its value and refreshes it', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('x', 1)
    cache.set('y', 2)
    cache.set('x', 3)
    cache.set('z', 4) // evicts y
    expect(cache.get('x')).toBe(3)
    expect(cache.get('y')).toBeUndefined()
    expect(cache.size).toBe(2)
  })

  it('forgets an entry from its expiresAt on', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const cache = new LruCache<string, string>(10)
    cache.set('short', 'a', Date.now() + 1000)
    cache.set('forever', 'b')
    vi.advanceTimersByTime(999)
    expect(cache.get('short')).toBe('a')
    vi.advanceTimersByTime(1)
    expect(cache.get('short')).toBeUndefined()
    expect(cache.size).toBe(1)
    vi.advanceTimersByTime(10 ** 9)
    expect(cache.get('forever')).toBe('b')
  })

  it('deletes a key, or only while it still holds a given value', () => {
    const cache = new LruCache<string, object>(10)
    const first = {}
    const second = {}
    cache.set('k', first)
    cache.set('k', second)
    cache.delete('k', first) // a stale failure must not remove the newer value
    expect(cache.get('k')).toBe(second)
    cache.delete('k', second)
    expect(cache.get('k')).toBeUndefined()
    cache.set('j', first)
    cache.delete('j')
    expect(cache.size).toBe(0)
  })

  it('refuses a bound below 1', () => {
    expect(() => new LruCache(0)).toThrow('"maxEntries" must be an integer >= 1')
    expect(() => new LruCache(1.5)).toThrow(TypeError)
  })
})
