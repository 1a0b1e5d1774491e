/** Largest JSON body read from the authorization server (metadata, JWKS, introspection). */
const MAX_BODY_BYTES = 512 * 1024

/** Why a request to the authorization server failed (kept as the error `cause`). */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * Fetches a JSON object from the authorization server with a timeout and a size limit.
 * Throws {@link HttpError} for a network failure, a timeout, a non-200 status or a body that is
 * not a JSON object. The body is never put in the message.
 */
export async function fetchJson(
  fetchImpl: typeof fetch,
  url: URL,
  timeout: number,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Record<string, unknown>> {
  let response: Response
  try {
    response = await fetchImpl(url.href, {
      method: init.method ?? 'GET',
      headers: { accept: 'application/json', ...init.headers },
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeout),
    })
  } catch (cause) {
    throw new HttpError(`request to ${url.origin}${url.pathname} failed`, undefined, { cause })
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined)
    throw new HttpError(
      `${url.origin}${url.pathname} answered HTTP ${response.status}`,
      response.status,
    )
  }
  const length = Number(response.headers.get('content-length') ?? '0')
  if (length > MAX_BODY_BYTES) {
    await response.body?.cancel().catch(() => undefined)
    throw new HttpError(`${url.origin}${url.pathname} answered a body too large`, 200)
  }
  let value: unknown
  try {
    const text = await response.text()
    if (text.length > MAX_BODY_BYTES) throw new Error('body too large')
    value = JSON.parse(text)
  } catch (cause) {
    throw new HttpError(`${url.origin}${url.pathname} answered no JSON object`, 200, { cause })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(`${url.origin}${url.pathname} answered no JSON object`, 200)
  return value as Record<string, unknown>
}

/**
 * A `fetch` for openid-client that keeps {@link fetchJson}'s limits: `timeout` covers the whole
 * read (the signal stays attached while the body streams in) and a body larger than the limit
 * is cancelled when it passes it, never buffered further. It answers with the body read in full,
 * so openid-client parses it without waiting on the network again.
 */
export function createBoundedFetch(fetchImpl: typeof fetch, timeout: number): typeof fetch {
  return async (input, init) => {
    const timer = AbortSignal.timeout(timeout)
    const signal = init?.signal ? AbortSignal.any([init.signal, timer]) : timer
    // The race also bounds a `fetch` that ignores `signal`, and a body that stops streaming.
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new HttpError('the authorization server did not answer in time'))
      signal.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => undefined)
    try {
      return await readBounded(
        await Promise.race([fetchImpl(input, { ...init, signal }), aborted]),
        aborted,
      )
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }
}

async function readBounded(response: Response, aborted: Promise<never>): Promise<Response> {
  const length = Number(response.headers.get('content-length') ?? '0')
  if (length > MAX_BODY_BYTES) {
    await response.body?.cancel().catch(() => undefined)
    throw new HttpError('the authorization server answered a body too large', response.status)
  }
  if (response.body === null) return response
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await Promise.race([reader.read(), aborted]).catch((err: unknown) => {
      reader.cancel().catch(() => undefined)
      throw err
    })
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw new HttpError('the authorization server answered a body too large', response.status)
    }
    chunks.push(value)
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}
