/** Response headers, by name. */
export type ResponseHeaders = Readonly<Record<string, string>>

/** `Cache-Control: no-store`: on every response of the login, callback and logout routes. */
export const NO_STORE: ResponseHeaders = Object.freeze({ 'Cache-Control': 'no-store' })

/** A flow's answer that is a redirect: a `302` to `redirectTo`, with `headers`. */
export interface Redirect {
  /** An absolute URL (the AS) or a same-origin path. */
  readonly redirectTo: string
  readonly headers: ResponseHeaders
}

/** An OAuth-style JSON error body: `{ error, error_description }`. */
export interface ErrorBody {
  readonly error: string
  readonly error_description: string
}

/** A flow's answer that is a JSON (or empty) response with a status. */
export interface JsonReply {
  readonly status: number
  readonly headers: ResponseHeaders
  /** The JSON body; `undefined` for an empty body. */
  readonly body: ErrorBody | undefined
}
