import type { AuthContext } from '@codegrant/session'
import type { Request } from 'express'

// Kept beside the request, not on it: a property added to Express's request costs V8 a new
// hidden class per request (Express changes the request's prototype, after which added
// properties no longer share hidden classes).
// One map per process (through a registered symbol), shared by every copy of this package.
const contexts = shared<Request, AttachedContext>('@codegrant/express.context')

/** The process-wide WeakMap registered under `Symbol.for(key)`, created on first use. */
export function shared<K extends object, V>(key: string): WeakMap<K, V> {
  const registry = globalThis as { [key: symbol]: WeakMap<K, V> | undefined }
  return (registry[Symbol.for(key)] ??= new WeakMap<K, V>())
}

/** The `auth()` router a request went through, and the path it is mounted at. */
export interface AttachedContext {
  readonly ctx: AuthContext
  readonly base: string
}

/** Attaches the router's context to the request (for guards mounted elsewhere). */
export function attachContext(req: Request, ctx: AuthContext, base: string): void {
  contexts.set(req, { ctx, base })
}

/** The context of the `auth()` router the request went through, if any. */
export function contextOf(req: Request): AttachedContext | undefined {
  return contexts.get(req)
}

/**
 * The mount path of `ctx`'s router for this request: the one it attached (a guard mounted
 * elsewhere, e.g. step-up), else the request's own `baseUrl`.
 */
export function mountPathOf(req: Request, ctx: AuthContext): string {
  const attached = contextOf(req)
  return attached?.ctx === ctx ? attached.base : req.baseUrl
}
