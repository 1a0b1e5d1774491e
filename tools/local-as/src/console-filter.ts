import type { LocalAsLogger } from './options.js'

// oidc-provider prints its notices with console.warn / console.info ("oidc-provider WARNING: ...",
// also at import time). While at least one local AS runs, those lines (and only those) go to the
// loggers of the running servers instead of the test output.

const prefix = /^(?:\x1b\[[\d;]*m)?oidc-provider /
const loggers = new Set<LocalAsLogger>()
let original: { warn: typeof console.warn; info: typeof console.info } | undefined

function route(level: 'warn' | 'info', args: unknown[]): boolean {
  const [first] = args
  if (typeof first !== 'string' || !prefix.test(first)) return false
  const text = first.replace(/\x1b\[[\d;]*m/g, '')
  for (const logger of loggers) {
    if (level === 'info' && logger.info) logger.info(text)
    else logger.warn(text)
  }
  return true
}

/** @internal Starts routing oidc-provider's console notices to `logger`; returns the undo. */
export function captureProviderNotices(logger: LocalAsLogger): () => void {
  loggers.add(logger)
  if (original === undefined) {
    const saved = { warn: console.warn, info: console.info }
    original = saved
    console.warn = (...args: unknown[]) => {
      if (!route('warn', args)) saved.warn.apply(console, args)
    }
    console.info = (...args: unknown[]) => {
      if (!route('info', args)) saved.info.apply(console, args)
    }
  }
  return () => {
    loggers.delete(logger)
    if (loggers.size === 0 && original !== undefined) {
      console.warn = original.warn
      console.info = original.info
      original = undefined
    }
  }
}
