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
