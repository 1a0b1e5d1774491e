/**
 * Option validators for `resolveOptions()`-style factories. One argument order, `(value, name)`,
 * and one wording: a `TypeError` whose message starts with the option's name in double quotes
 * (`'"timeout" must be a number > 0'`), as openid-client words its misuse errors.
 */

/** Throws a `TypeError` with `message`: misuse, reported at configuration time. */
export function fail(message: string): never {
  throw new TypeError(message)
}

/** `value` when it is a non-empty string; else a `TypeError` naming `name`. */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(`"${name}" must be a non-empty string`)
  return value
}

/** Undefined when `value` is, else {@link nonEmptyString}. */
export function optionalString(value: unknown, name: string): string | undefined {
  return value === undefined ? undefined : nonEmptyString(value, name)
}

/** `fallback` when `value` is undefined, `value` when it is a boolean; else a `TypeError`. */
export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(`"${name}" must be a boolean`)
  return value
}

/** The range a number option must lie in. */
export interface NumberRange {
  /** The smallest value allowed (inclusive). */
  readonly min?: number
  /** A bound the value must exceed (exclusive): `{ above: 0 }` is "positive". */
  readonly above?: number
  /** Only whole numbers. */
  readonly integer?: boolean
}

/**
 * `fallback` when `value` is undefined, `value` when it is a finite number in `range`; else a
 * `TypeError` that states the range (`"x" must be a number >= 0`, `"x" must be an integer > 0`).
 */
export function numberOption(
  value: unknown,
  name: string,
  fallback: number,
  range: NumberRange,
): number {
  if (value === undefined) return fallback
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (range.integer === true && !Number.isInteger(value)) ||
    (range.min !== undefined && value < range.min) ||
    (range.above !== undefined && value <= range.above)
  ) {
    const bounds = [
      ...(range.min === undefined ? [] : [`>= ${range.min}`]),
      ...(range.above === undefined ? [] : [`> ${range.above}`]),
    ]
    const kind = range.integer === true ? 'an integer' : 'a number'
    fail(`"${name}" must be ${kind}${bounds.length === 0 ? '' : ` ${bounds.join(' and ')}`}`)
  }
  return value
}
