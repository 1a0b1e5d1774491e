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

describe('LruCache hits (second chance)', () => {
  it('gives an entry used since the last eviction a second chance, then evicts it when unused', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.get('a')).toBe(1)
    cache.set('c', 3) // a was used: b goes, a is unmarked
    expect(cache.size).toBe(2)
    cache.set('d', 4) // nothing used since: the oldest unmarked, c, goes
    cache.set('e', 5) // then a
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('c')).toBeUndefined()
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('d')).toBe(4)
    expect(cache.get('e')).toBe(5)
  })

  it('always keeps the entry just set, even when every other one was used', () => {
    const one = new LruCache<string, number>(1)
    one.set('old', 1)
    expect(one.get('old')).toBe(1)
    one.set('new', 2)
    expect(one.get('new')).toBe(2)
    expect(one.get('old')).toBeUndefined()
    const many = new LruCache<number, number>(50)
    for (let i = 0; i < 50; i++) many.set(i, i)
    for (let i = 0; i < 50; i++) many.get(i)
    many.set(50, 50)
    expect(many.size).toBe(50)
    expect(many.get(50)).toBe(50)
    expect(many.get(0)).toBeUndefined() // every one was used: the oldest goes after its pass
  })

  it('keeps the entries in steady use while a stream of one-off keys passes through', () => {
    const cache = new LruCache<string, number>(10)
    for (let i = 0; i < 1000; i++) {
      cache.set(`once-${i}`, i)
      if (i === 0) for (const k of ['h1', 'h2', 'h3']) cache.set(k, 0)
      for (const k of ['h1', 'h2', 'h3']) expect(cache.get(k)).toBe(0)
      expect(cache.size).toBeLessThanOrEqual(10)
    }
  })
})
