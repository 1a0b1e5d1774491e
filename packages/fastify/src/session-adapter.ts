import type {
  AuthContext,
  CallbackInput,
  JsonReply,
  ResolvedOptions,
  VaultSession,
} from '@codegrant/session'
import type { FastifyRequest } from 'fastify'

/**
 * How the plugin reaches the session of a request: @fastify/session's (a server-side store,
 * `fastify-session.ts`) or @fastify/secure-session's (an encrypted cookie, `secure-session.ts`).
 * One is picked at registration from the decorators the app registered.
 */
export interface SessionAdapter {
  /** The session plugin, for messages. */
  readonly plugin: '@fastify/session' | '@fastify/secure-session'
  /** Whether the request carries a session of that plugin. */
  has(request: FastifyRequest): boolean
  /** The vault's live view of the request's session. */
  sessionOf(request: FastifyRequest): VaultSession
  /** What the request's cookies say about its session (the callback's `sessionCookie`). */
  cookieState(request: FastifyRequest, config: ResolvedOptions): CallbackInput['sessionCookie']
  /** The session cookie's max age in milliseconds, if it has one (the callback's `sessionMaxAge`). */
  maxAge(request: FastifyRequest): number | undefined
  /** `POST /backchannel-logout`, given the parsed form body. */
  backchannelLogOut(
    ctx: AuthContext,
    request: FastifyRequest,
    body: Readonly<Record<string, unknown>> | undefined,
  ): Promise<JsonReply>
  /**
   * The per-request step after the engine's own (absolute lifetime): a promise only when there is
   * I/O to do, `undefined` otherwise.
   */
  check?(ctx: AuthContext, session: VaultSession): Promise<void> | undefined
}

const adapters = new WeakMap<AuthContext, SessionAdapter>()

/** Records the session adapter of a plugin instance. */
export function bindAdapter(ctx: AuthContext, adapter: SessionAdapter): void {
  adapters.set(ctx, adapter)
}

/** The session adapter of a plugin instance (set at its registration). */
export function adapterOf(ctx: AuthContext): SessionAdapter {
  const adapter = adapters.get(ctx)
  if (adapter === undefined)
    throw new TypeError('fastifyAuth: the plugin instance is not registered')
  return adapter
}
