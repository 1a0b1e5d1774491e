import type { ResolvedOptions } from './options.js'

const warned = new WeakMap<ResolvedOptions, Set<string>>()

/**
 * Reports a problem of the verifier's own work (never a token): to the `logger` when there is
 * one, else once per verifier and `code` through `process.emitWarning`, so a misconfiguration
 * that makes every request a 503 is never silent. A library never writes to the console itself.
 */
export function warn(
  options: ResolvedOptions,
  code: string,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): void {
  if (options.logger !== undefined) {
    options.logger.warn(message, details)
    return
  }
  let codes = warned.get(options)
  if (codes === undefined) warned.set(options, (codes = new Set()))
  if (codes.has(code)) return
  codes.add(code)
  process.emitWarning(`@codegrant/resource-server: ${message}`, { code })
}

/** The message of an error cause, for a log line. */
export function causeMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
