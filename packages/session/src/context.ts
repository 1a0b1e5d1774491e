import type { Client } from '@codegrant/core'
import type { ResolvedOptions } from './options.js'
import {
  createSessionVault,
  type AcquireLock,
  type SessionVault,
  type VaultOptions,
  type VaultOwner,
} from './session-vault.js'

/**
 * The runtime state of one login middleware (an `auth()` router, a Fastify plugin instance): its
 * configuration, its vault and its identity. Create one per middleware with {@link createContext}
 * and pass it to every flow.
 */
export interface AuthContext {
  readonly config: ResolvedOptions
  readonly vault: SessionVault
  /** The issuer and client of this router, once its client is known. */
  owner: VaultOwner | undefined
  /** Set once a request arrived with `req.session`: a later request without it means the store failed. */
  sawSession: boolean
}

// How many auth() routers of this process use each session key: routers that share one must
// tell whose login a session holds (several issuers on one app).
const routersByKey = new Map<string, number>()

// Matches no user record: the identity of a router sharing its session key whose client is unknown.
const NOBODY: VaultOwner = Object.freeze({ issuer: '', clientId: '' })

/** Whether other routers of this process use the same session key. */
export function isShared(ctx: AuthContext): boolean {
  return (routersByKey.get(ctx.config.sessionKey) ?? 0) > 1
}

/**
 * The identity the router reads users with: its own once known; before that nobody when it
 * shares the session key (fail closed), anybody when it is alone.
 */
export function identityOf(ctx: AuthContext): VaultOwner | undefined {
  return ctx.owner ?? (isShared(ctx) ? NOBODY : undefined)
}

/** Takes the in-process lock for the session, then the shared one when configured. */
function acquirer(config: ResolvedOptions): AcquireLock {
  return async (sid) => {
    const key = `sess:${sid}`
    const releaseLocal = await config.localLock.acquire(key)
    if (config.lock === config.localLock) return releaseLocal
    try {
      const releaseShared = await config.lock.acquire(key)
      return async () => {
        try {
          await releaseShared()
        } finally {
          await releaseLocal()
        }
      }
    } catch (err) {
      await releaseLocal()
      throw err
    }
  }
}

/**
 * Creates the context of one login middleware from its resolved options. Middlewares of one
 * process that share a `sessionKey` learn of each other here (whose login a session holds).
 *
 * @param createVault makes the vault from its options: {@link createSessionVault} (sessions in a
 *   server-side store) by default, `createCookieVault` for sessions kept in an encrypted cookie.
 */
export function createContext(
  config: ResolvedOptions,
  createVault: (options: VaultOptions) => SessionVault = createSessionVault,
): AuthContext {
  routersByKey.set(config.sessionKey, (routersByKey.get(config.sessionKey) ?? 0) + 1)
  return {
    config,
    vault: createVault({
      sessionKey: config.sessionKey,
      maxLogins: config.maxTransactions,
      cipher: config.cipher,
      acquire: acquirer(config),
      touchAfter: config.touchAfter,
      onTampered: (what) =>
        config.logger?.warn(`session ${what} refused: edited or moved between sessions`),
    }),
    owner: undefined,
    sawSession: false,
  }
}

/** The router's client; remembers its issuer and client id as the router's identity. */
export async function clientOf(ctx: AuthContext): Promise<Client> {
  const client = await ctx.config.getClient()
  ctx.owner ??= Object.freeze({ issuer: client.issuer, clientId: client.clientId })
  return client
}
