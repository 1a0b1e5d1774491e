import { CodegrantError } from './errors.js'

/**
 * Wraps a `fetch` so that every request to the authorization server is bounded by `timeoutMs`
 * (from the request to the last byte of the body: the deadline stays attached to the body
 * stream) and by `maxBytes` of body, and fails with a {@link CodegrantError}: `ERR_TIMEOUT`
 * when the time ran out, `ERR_NETWORK` when the request failed below HTTP,
 * `ERR_RESPONSE_TOO_LARGE` when the body (by `Content-Length`, or as read) exceeds `maxBytes`.
 * The race also bounds an injected `fetch` that ignores `signal`. Memory stays bounded: the body
 * is streamed and cancelled at the limit, never buffered past it.
 */
export function createBoundedFetch(
  base: typeof fetch,
  timeoutMs: number,
  maxBytes: number = Number.POSITIVE_INFINITY,
): typeof fetch {
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
      return bindBody(response, signal, timeoutMs, maxBytes)
    } catch (err) {
      if (err instanceof CodegrantError) throw err
      if (signal.aborted && isTimeout(signal.reason)) throw timedOut(timeoutMs, err)
      throw new CodegrantError('ERR_NETWORK', 'request to the authorization server failed', {
        cause: err,
      })
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort)
      aborted.catch(() => {})
    }
  }
}

function timedOut(timeoutMs: number, cause: unknown): CodegrantError {
  return new CodegrantError(
    'ERR_TIMEOUT',
    `request to the authorization server timed out after ${timeoutMs} ms ("timeout")`,
    { cause },
  )
}

function tooLarge(maxBytes: number): CodegrantError {
  return new CodegrantError(
    'ERR_RESPONSE_TOO_LARGE',
    `the authorization server response body is larger than ${maxBytes} bytes ("maxResponseSize")`,
  )
}

/**
 * Re-wraps the body so that reading it also stops at the deadline, whatever `fetch` was
 * injected (undici already ties the signal to the body; a test or proxy fetch may not), and
 * after `maxBytes`. The stream errors with the {@link CodegrantError} itself, so that whoever
 * reads the body (openid-client, jose) fails with it as the cause.
 */
function bindBody(
  response: Response,
  signal: AbortSignal,
  timeoutMs: number,
  maxBytes: number,
): Response {
  if (response.body === null) return response
  const body = response.body
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.cancel().catch(() => {})
    throw tooLarge(maxBytes)
  }
  const reader = body.getReader()
  let read = 0
  const stop = (error: CodegrantError) => {
    reader.cancel(error).catch(() => {})
    return error
  }
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal.aborted) {
        controller.error(
          stop(
            isTimeout(signal.reason)
              ? timedOut(timeoutMs, signal.reason)
              : abortedError(signal.reason),
          ),
        )
        return
      }
      let onAbort: (() => void) | undefined
      const abort = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      try {
        const chunk = await Promise.race([reader.read(), abort])
        if (chunk.done) {
          controller.close()
          return
        }
        read += chunk.value.byteLength
        if (read > maxBytes) {
          controller.error(stop(tooLarge(maxBytes)))
          return
        }
        controller.enqueue(chunk.value)
      } catch (err) {
        controller.error(
          stop(
            signal.aborted && isTimeout(signal.reason)
              ? timedOut(timeoutMs, err)
              : err instanceof CodegrantError
                ? err
                : new CodegrantError(
                    'ERR_NETWORK',
                    'reading the authorization server response failed',
                    { cause: err },
                  ),
          ),
        )
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort)
        abort.catch(() => {})
      }
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
  return new Response(guarded, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}

function abortedError(reason: unknown): CodegrantError {
  return new CodegrantError('ERR_NETWORK', 'the request to the authorization server was aborted', {
    cause: reason,
  })
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError'
}
