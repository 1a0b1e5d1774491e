const BASE = 'http://return-to.invalid'
const MAX_LENGTH = 2048

/**
 * Returns `value` when it is a same-origin relative path (`/a/b?c#d`), else `undefined`.
 * Refuses protocol-relative (`//evil`), backslash (`/\evil`), absolute URLs, control characters
 * and anything that would resolve to another origin.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.11 (open redirectors)
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return undefined
  // `//evil` needs no check of its own: it resolves to another origin, refused below.
  if (value[0] !== '/' || value.includes('\\')) return undefined
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value, BASE)
  } catch {
    return undefined
  }
  if (url.origin !== BASE) return undefined
  const path = `${url.pathname}${url.search}${url.hash}`
  // Check the output, not only the input: normalisation turns `/.//evil`, `/a/..//evil` and
  // `/%2e//evil` into `//evil`, which a browser reads as another origin.
  return isRelativePath(path) ? path : undefined
}

function isRelativePath(path: string): boolean {
  if (path.length > MAX_LENGTH || path[0] !== '/' || path[1] === '/' || path[1] === '\\')
    return false
  return !path.includes('\\') && !/[\u0000-\u001f\u007f]/.test(path)
}
