import { describe, expect, it } from 'vitest'
import { LruCache } from '../src/lru.js'

describe('LruCache', () => {
  it('never holds more than maxEntries', () => {
    const cache = new LruCache<number, number>(100)
    for (let i = 0; i < 10_000; i++) cache.set(i, i)
    expect(cache.size).toBeLessThanOrEqual(100)
    expect(cache.get(9_999)).toBe(9_999)
    expect(cache.get(0)).toBeUndefined()
  })

  it('keeps a recently used entry over older unused ones', () => {
    const cache = new LruCache<string, number>(4)
    cache.set('hot', 1)
    cache.set('a', 2)
    cache.set('b', 3) // rotation: hot and a become old
    expect(cache.get('hot')).toBe(1) // moved back to the young generation
    cache.set('c', 4) // rotation: the old generation, with a in it, is dropped
    cache.set('d', 5)
    expect(cache.get('hot')).toBe(1)
    expect(cache.get('a')).toBeUndefined()
  })

  it('deletes from both generations', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('x', 1)
    cache.set('y', 2)
    cache.delete('x')
    cache.delete('y')
    expect(cache.get('x')).toBeUndefined()
    expect(cache.get('y')).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})
