interface Slot<V> {
  readonly value: V
  /** Epoch milliseconds from which the entry is gone; `Infinity` for no expiry. */
  readonly expiresAt: number
}

/**
 * A bounded map: at most `maxEntries` entries, the least recently used one evicted first, and
 * an optional per-entry expiry (epoch milliseconds, read from `Date.now()` so fake timers apply).
 * A `Map` keeps insertion order, so a hit re-inserts its entry and the oldest key is the first.
 *
 * Not safe for secrets as keys: callers key it by hashes or thumbprints, never raw tokens.
 */
export class LruCache<K, V> {
  private readonly slots = new Map<K, Slot<V>>()
  private readonly maxEntries: number

  /** @param maxEntries the bound, at least 1 */
  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('"maxEntries" must be an integer >= 1')
    }
    this.maxEntries = maxEntries
  }

  /** The live value of `key`, now the most recently used; undefined when absent or expired. */
  get(key: K): V | undefined {
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    this.slots.delete(key)
    if (Date.now() >= slot.expiresAt) return undefined
    this.slots.set(key, slot)
    return slot.value
  }

  /**
   * Stores `value` as the most recently used entry, evicting the least recently used ones
   * beyond `maxEntries`.
   *
   * @param expiresAt epoch milliseconds from which {@link get} no longer returns it
   */
  set(key: K, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    this.slots.delete(key)
    this.slots.set(key, { value, expiresAt })
    for (const oldest of this.slots.keys()) {
      if (this.slots.size <= this.maxEntries) break
      this.slots.delete(oldest)
    }
  }

  /**
   * Removes `key`. With `value`, only while `key` still holds that value, so a failed load
   * removes its own entry and never a newer one that replaced it.
   */
  delete(key: K, value?: V): void {
    if (value !== undefined && this.slots.get(key)?.value !== value) return
    this.slots.delete(key)
  }

  /** Entries held, expired ones not yet read included. */
  get size(): number {
    return this.slots.size
  }
}
