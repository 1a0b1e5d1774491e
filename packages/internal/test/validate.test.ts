import { describe, expect, it } from 'vitest'
import {
  booleanOption,
  fail,
  nonEmptyString,
  numberOption,
  optionalString,
} from '../src/validate.js'

describe('option validators', () => {
  it('fail throws a TypeError with the message', () => {
    expect(() => fail('"x" is wrong')).toThrow(new TypeError('"x" is wrong'))
  })

  it('nonEmptyString and optionalString', () => {
    expect(nonEmptyString('a', 'clientId')).toBe('a')
    for (const value of ['', undefined, 1, null]) {
      expect(() => nonEmptyString(value, 'clientId')).toThrow(
        new TypeError('"clientId" must be a non-empty string'),
      )
    }
    expect(optionalString(undefined, 'scope')).toBeUndefined()
    expect(optionalString('openid', 'scope')).toBe('openid')
    expect(() => optionalString('', 'scope')).toThrow('"scope" must be a non-empty string')
  })

  it('booleanOption', () => {
    expect(booleanOption(undefined, 'usePar', true)).toBe(true)
    expect(booleanOption(false, 'usePar', true)).toBe(false)
    expect(() => booleanOption('yes', 'usePar', false)).toThrow('"usePar" must be a boolean')
  })

  it('numberOption states the range it wants', () => {
    expect(numberOption(undefined, 'timeout', 5000, { above: 0 })).toBe(5000)
    expect(numberOption(0.5, 'timeout', 5000, { above: 0 })).toBe(0.5)
    expect(() => numberOption(0, 'timeout', 5000, { above: 0 })).toThrow(
      new TypeError('"timeout" must be a number > 0'),
    )
    expect(numberOption(0, 'clockTolerance', 5, { min: 0 })).toBe(0)
    expect(() => numberOption(-1, 'clockTolerance', 5, { min: 0 })).toThrow(
      '"clockTolerance" must be a number >= 0',
    )
    expect(() => numberOption(1.5, 'max', 1, { min: 1, integer: true })).toThrow(
      '"max" must be an integer >= 1',
    )
    expect(() => numberOption('1', 'max', 1, { min: 1, integer: true })).toThrow(
      '"max" must be an integer >= 1',
    )
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() => numberOption(value, 'n', 1, {})).toThrow('"n" must be a number')
    }
  })
})
