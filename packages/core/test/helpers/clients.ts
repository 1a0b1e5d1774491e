// Shared client builders for the core unit tests: a client on the in-memory fake AS, and a client
// with explicit metadata whose fetch records every request and answers from the test.
import { expect } from 'vitest'
import { createClient, type Client } from '../../src/client.js'
import { CodegrantError } from '../../src/errors.js'
import type { ClientOptions } from '../../src/options.js'
import { createFakeAs, ISSUER, type FakeAs } from './fake-as.js'

/** The fields every explicit-metadata test client shares (`web-1`, its secret and callback). */
export const BASE_CLIENT = {
  issuer: ISSUER,
  clientId: 'web-1',
  clientSecret: 's3cret',
  redirectUri: 'https://app.example.com/callback',
} as const

/** The minimum AS metadata (issuer, authorization and token endpoints). */
export const BASE_METADATA = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/authorize`,
  token_endpoint: `${ISSUER}/token`,
} as const

/** One request made through a recording client's fetch. */
export interface SeenRequest {
  url: string
  method: string
  headers: Headers
  /** The request body as a string (`''` when there is none). */
  body: string
}

/** The URL of a fetch input. */
export function urlOf(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
}

/**
 * A client (`web-1`, {@link BASE_METADATA} plus `metadata`) whose fetch records each request (as
 * `record` maps it) in `seen` and returns `answer(request, index)`.
 */
export async function createRecordingClient<T = SeenRequest>(
  answer: (req: SeenRequest, index: number) => Response | Promise<Response>,
  options: {
    metadata?: Record<string, unknown>
    client?: Partial<ClientOptions>
    record?: (req: SeenRequest) => T
  } = {},
): Promise<{ client: Client; seen: T[] }> {
  const seen: T[] = []
  const record = options.record ?? ((req: SeenRequest) => req as T)
  let count = 0
  const client = await createClient({
    ...BASE_CLIENT,
    ...options.client,
    metadata: { ...BASE_METADATA, ...options.metadata },
    fetch: async (input, init) => {
      const req: SeenRequest = {
        url: urlOf(input),
        method: init?.method ?? 'GET',
        headers: new Headers(init?.headers),
        body: init?.body === undefined || init.body === null ? '' : String(init.body),
      }
      seen.push(record(req))
      return answer(req, count++)
    },
  })
  return { client, seen }
}

/** A fake AS and a client (`client-1`) that reaches it through its fetch. */
export async function setupFakeAs(
  metadata: Record<string, unknown> = {},
  options: Partial<ClientOptions> = {},
): Promise<{ as: FakeAs; client: Client }> {
  const as = await createFakeAs({ metadata })
  const client = await createClient({
    issuer: ISSUER,
    clientId: 'client-1',
    clientSecret: 'secret',
    redirectUri: 'https://app.example.com/callback',
    metadata: as.metadata,
    fetch: as.fetch,
    ...options,
  })
  return { as, client }
}

/** Awaits a promise expected to reject with a CodegrantError and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<CodegrantError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CodegrantError)
  return err as CodegrantError
}
