class Slot<V> {
  /** Set by a hit; eviction gives a used entry a second chance (and clears the mark). */
  used = false
  constructor(
    readonly value: V,
    /** Epoch milliseconds from which the entry is gone; `Infinity` for no expiry. */
    readonly expiresAt: number,
  ) {}
}

/**
 * A bounded map: at most `maxEntries` entries, an approximation of least-recently-used eviction
 * (second chance, "CLOCK"), and an optional per-entry expiry (epoch milliseconds, read from
 * `Date.now()` so fake timers apply).
 *
 * A hit only marks its entry as used: it does not reorder the map (a lookup stays a `Map.get`
 * plus a flag). When the map is over its bound, entries are examined oldest first: a used one
 * is unmarked and moved to the newest end, the first unused one is evicted. So an entry used
 * since the last eviction pass is never the one evicted while an unused one exists, and entries
 * never used go in insertion order.
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

  /** The live value of `key`, now marked as used; undefined when absent or expired. */
  get(key: K): V | undefined {
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt !== Number.POSITIVE_INFINITY && Date.now() >= slot.expiresAt) {
      this.slots.delete(key)
      return undefined
    }
    if (!slot.used) slot.used = true
    return slot.value
  }

  /**
   * Stores `value` as the newest entry, evicting beyond `maxEntries` (unused entries first,
   * oldest first).
   *
   * @param expiresAt epoch milliseconds from which {@link get} no longer returns it
   */
  set(key: K, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    this.slots.delete(key)
    this.slots.set(key, new Slot(value, expiresAt))
    while (this.slots.size > this.maxEntries) {
      const oldest = this.slots.entries().next()
      if (oldest.done === true) break
      const [k, slot] = oldest.value
      this.slots.delete(k)
      // The entry just set always stays; a used one gets its second chance.
      if (k === key || slot.used) {
        slot.used = false
        this.slots.set(k, slot)
      }
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
