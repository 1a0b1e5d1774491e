/// <reference path="./vendor-modules.d.ts" />
import { LruCache } from '@codegrant/internal'
import { parse } from 'cookie'
import signature from 'cookie-signature'

// The session-id cookie in express-session's format, `s:<id>.<signature>`: the signature is the
// HMAC-SHA256 of the id (base64, padding removed). Cookies written by express-session with the
// same secret stay valid, and the other way round.

/** The signed cookie value for session id `sid`, with the current (first) secret. */
export function signSessionId(sid: string, secret: string): string {
  return `s:${signature.sign(sid, secret)}`
}

/**
 * The session id of a signed cookie value, checked against each secret (cookie-signature: one
 * HMAC per secret tried, compared in constant time), or `undefined` when none signed it.
 */
export function unsignSessionId(value: string, secrets: readonly string[]): string | undefined {
  if (!value.startsWith('s:')) return undefined
  const signed = value.slice(2)
  for (const secret of secrets) {
    const sid = signature.unsign(signed, secret)
    if (sid !== false) return sid
  }
  return undefined
}

/**
 * Reads the session id from `Cookie` headers, remembering the last `max` cookie values whose
 * signature checked (value -> id), so a returning session costs a map lookup instead of an HMAC.
 * Only values that verified are kept, each exactly as it was verified; the session ids in them
 * are in this process's memory anyway (the store client, the session vault's caches).
 */
export class SessionIdReader {
  private readonly verified: LruCache<string, string>

  /** @param max the number of verified cookie values kept, at least 1 */
  constructor(
    private readonly name: string,
    private readonly secrets: readonly string[],
    max = 10_000,
  ) {
    this.verified = new LruCache(max)
  }

  /** The session id in the header's cookie `name`, if its signature checks. */
  read(header: string | undefined): string | undefined {
    // Most requests carry one or two cookies: skip the parse when ours is not there.
    if (header === undefined || !header.includes(this.name)) return undefined
    const raw = parse(header)[this.name]
    if (raw === undefined || raw === '') return undefined
    const known = this.verified.get(raw)
    if (known !== undefined) return known
    const sid = unsignSessionId(raw, this.secrets)
    if (sid !== undefined) this.verified.set(raw, sid)
    return sid
  }
}
