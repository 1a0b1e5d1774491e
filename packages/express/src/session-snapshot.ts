/**
 * Change detection for a session without serialising it: a snapshot is a structural copy of
 * the session's data (every top-level key but `cookie`), and {@link sameAsSnapshot} answers
 * whether the session would serialise (`JSON.stringify`) to the same text as it did when the
 * snapshot was taken. That is the question express-session answers by hashing the JSON of the
 * session (SHA-1) at load, at the response's headers and at its end; here strings are compared,
 * not serialised, so an unchanged sealed record costs one pointer comparison.
 *
 * Plain objects, arrays and JSON primitives are walked; anything else (a `Date`, an object with
 * `toJSON`, a class instance) is kept as its JSON text and compared as such.
 */

/** A JSON primitive as `JSON.stringify` writes it (`null` for non-finite numbers). */
type Primitive = string | number | boolean | null

/** The snapshot of one value. */
export type Snapshot = Primitive | SnapshotArray | SnapshotObject | SnapshotJson

interface SnapshotArray {
  readonly kind: 'array'
  readonly items: readonly Snapshot[]
}

/** The snapshot of a plain object (and of a whole session). */
export interface SnapshotObject {
  readonly kind: 'object'
  readonly keys: readonly string[]
  readonly values: readonly Snapshot[]
}

interface SnapshotJson {
  readonly kind: 'json'
  readonly text: string
}

// What JSON.stringify leaves out of an object (and writes as null in an array).
const OMIT = Symbol('omit')

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  )
}

function primitive(value: unknown): Primitive | typeof OMIT | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : null
    case 'undefined':
    case 'function':
    case 'symbol':
      return OMIT
    default:
      return value === null ? null : undefined
  }
}

function take(value: unknown): Snapshot | typeof OMIT {
  const p = primitive(value)
  if (p !== undefined) return p
  const object = value as object
  if (Array.isArray(object)) {
    return {
      kind: 'array',
      items: object.map((item) => {
        const s = take(item)
        return s === OMIT ? null : s
      }),
    }
  }
  if (!isPlain(object)) {
    const text = JSON.stringify(object) as string | undefined
    return text === undefined ? OMIT : { kind: 'json', text }
  }
  const keys: string[] = []
  const values: Snapshot[] = []
  for (const key of Object.keys(object)) {
    const s = take((object as Record<string, unknown>)[key])
    if (s === OMIT) continue
    keys.push(key)
    values.push(s)
  }
  return { kind: 'object', keys, values }
}

/** The JSON text the snapshotted value serialised to. */
function textOf(snap: Snapshot): string {
  if (snap === null || typeof snap !== 'object') return JSON.stringify(snap)
  switch (snap.kind) {
    case 'json':
      return snap.text
    case 'array':
      return `[${snap.items.map(textOf).join(',')}]`
    case 'object':
      return `{${snap.keys.map((k, i) => `${JSON.stringify(k)}:${textOf(snap.values[i] as Snapshot)}`).join(',')}}`
  }
}

function same(value: unknown, snap: Snapshot): boolean {
  const p = primitive(value)
  if (p === OMIT) return false
  if (p !== undefined) {
    if (snap === null || typeof snap !== 'object') return p === snap
    return snap.kind === 'json' && JSON.stringify(p) === snap.text
  }
  const object = value as object
  if (snap !== null && typeof snap === 'object') {
    if (snap.kind === 'array' && Array.isArray(object)) {
      if (snap.items.length !== object.length) return false
      for (let i = 0; i < object.length; i++) {
        const item: unknown = object[i]
        const s = snap.items[i] as Snapshot
        // In an array, what an object leaves out is written as null.
        if (!(primitive(item) === OMIT ? s === null : same(item, s))) return false
      }
      return true
    }
    if (snap.kind === 'object' && !Array.isArray(object) && isPlain(object)) {
      return sameEntries(object as Record<string, unknown>, snap, undefined)
    }
  }
  // Different shapes (a Date where a string was, an object with toJSON, ...): compare the JSON.
  return JSON.stringify(object) === textOf(snap)
}

function sameEntries(
  object: Record<string, unknown>,
  snap: SnapshotObject,
  skip: string | undefined,
): boolean {
  let i = 0
  for (const key in object) {
    if (!Object.hasOwn(object, key) || key === skip) continue
    const value = object[key]
    if (primitive(value) === OMIT) continue
    if (snap.keys[i] !== key || !same(value, snap.values[i] as Snapshot)) return false
    i++
  }
  return i === snap.keys.length
}

/** The snapshot of a session's data: its own enumerable keys in order, `cookie` left out. */
export function takeSnapshot(session: object): SnapshotObject {
  const keys: string[] = []
  const values: Snapshot[] = []
  for (const key of Object.keys(session)) {
    if (key === 'cookie') continue
    const s = take((session as Record<string, unknown>)[key])
    if (s === OMIT) continue
    keys.push(key)
    values.push(s)
  }
  return { kind: 'object', keys, values }
}

/**
 * Whether `session` (its keys but `cookie`) serialises to the same JSON as it did when `snap`
 * was taken.
 */
export function sameAsSnapshot(session: object, snap: SnapshotObject): boolean {
  return sameEntries(session as Record<string, unknown>, snap, 'cookie')
}
