import { CodegrantError } from './errors.js'

/**
 * Wraps a `fetch` so that every request to the authorization server is bounded by `timeoutMs`
 * (headers and body: the signal stays attached to the body stream) and fails with a
 * {@link CodegrantError}: `ERR_TIMEOUT` when the time ran out, `ERR_NETWORK` when the request
 * failed below HTTP. The race also bounds an injected `fetch` that ignores `signal`.
 */
export function createBoundedFetch(base: typeof fetch, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const timer = AbortSignal.timeout(timeoutMs)
    const signal = init?.signal ? AbortSignal.any([init.signal, timer]) : timer
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      const response = await Promise.race([base(input, { ...init, signal }), aborted])
      return bindBody(response, signal)
    } catch (err) {
      if (signal.aborted && isTimeout(signal.reason)) {
        throw new CodegrantError(
          'ERR_TIMEOUT',
          `request to the authorization server timed out after ${timeoutMs} ms`,
          { cause: err },
        )
      }
      throw new CodegrantError('ERR_NETWORK', 'request to the authorization server failed', {
        cause: err,
      })
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort)
      aborted.catch(() => {})
    }
  }
}

/**
 * Re-wraps the body so that reading it also stops at the deadline, whatever `fetch` was
 * injected (undici already ties the signal to the body; a test or proxy fetch may not).
 */
function bindBody(response: Response, signal: AbortSignal): Response {
  if (response.body === null) return response
  const guarded = response.body.pipeThrough(new TransformStream(), { signal })
  return new Response(guarded, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError'
}
