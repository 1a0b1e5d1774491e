// The only barrel of @codegrant/internal. Private: every published package inlines what it uses
// (see README.md); nothing here may appear in a published package's public API.
export { isSafeErrorCode } from './error-code.js'
export { isLoopbackHost } from './loopback.js'
export { LruCache } from './lru.js'
export { assertSecureUrl } from './secure-url.js'
export { SingleFlight, type Backoff } from './single-flight.js'
export { tokenScheme } from './token-type.js'
export {
  booleanOption,
  fail,
  nonEmptyString,
  numberOption,
  optionalString,
  type NumberRange,
} from './validate.js'
