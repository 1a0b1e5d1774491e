import type { AuthContext } from '@codegrant/session'
import type { Request } from 'express'

const CONTEXT = Symbol.for('@codegrant/express.context')

/** The `auth()` router a request went through, and the path it is mounted at. */
export interface AttachedContext {
  readonly ctx: AuthContext
  readonly base: string
}

interface WithContext {
  [CONTEXT]?: AttachedContext
}

/** Attaches the router's context to the request (for guards mounted elsewhere). */
export function attachContext(req: Request, ctx: AuthContext, base: string): void {
  ;(req as Request & WithContext)[CONTEXT] = { ctx, base }
}

/** The context of the `auth()` router the request went through, if any. */
export function contextOf(req: Request): AttachedContext | undefined {
  return (req as Request & WithContext)[CONTEXT]
}

/**
 * The mount path of `ctx`'s router for this request: the one it attached (a guard mounted
 * elsewhere, e.g. step-up), else the request's own `baseUrl`.
 */
export function mountPathOf(req: Request, ctx: AuthContext): string {
  const attached = contextOf(req)
  return attached?.ctx === ctx ? attached.base : req.baseUrl
}
