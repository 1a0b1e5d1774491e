/**
 * A bounded map with least-recently-used eviction, approximated by two generations: hits in the
 * young generation cost one `Map.get`; hits in the old one move the entry up; when the young
 * generation is full it becomes the old one and the previous old one is dropped. At most
 * `maxEntries` entries are kept, and a recently used entry is never the first to go.
 */
export class LruCache<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()
  private readonly generationSize: number

  constructor(maxEntries: number) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2))
  }

  get(key: K): V | undefined {
    const hit = this.young.get(key)
    if (hit !== undefined) return hit
    const old = this.old.get(key)
    if (old !== undefined) {
      this.old.delete(key)
      this.set(key, old)
    }
    return old
  }

  set(key: K, value: V): void {
    if (!this.young.has(key) && this.young.size >= this.generationSize) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
  }

  delete(key: K): void {
    this.young.delete(key)
    this.old.delete(key)
  }

  get size(): number {
    return this.young.size + this.old.size
  }
}
