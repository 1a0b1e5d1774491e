/** An OAuth `error` code that may be quoted in a message or a log line. */
const SAFE_ERROR_CODE = /^[\w.:-]{1,64}$/

/**
 * True when an `error` code sent by an authorization server is safe to quote in an error
 * message or a log line: 1 to 64 characters of letters, digits, `_`, `.`, `:` and `-`.
 * Anything else (spaces, quotes, control characters, a long string that may carry a token or
 * markup) is left out of messages; it stays available, unquoted, on the error's own fields.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 (the `error` syntax is narrower)
 */
export function isSafeErrorCode(code: unknown): code is string {
  return typeof code === 'string' && SAFE_ERROR_CODE.test(code)
}
