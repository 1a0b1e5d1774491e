// The cookie vault (sessions kept in the browser) and the back-channel logout records of cookie
// sessions, against an in-memory "cookie": a session whose save() serializes its data and refuses
// what would not fit, as @codegrant/fastify's @fastify/secure-session adapter does.
import { randomBytes } from 'node:crypto'
import type { LoginTransaction, TokenSet } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import { createCookieVault, sessionTooLarge } from '../src/cookie-vault.js'
import { isAuthError } from '../src/errors.js'
import { createMemoryLock } from '../src/lock.js'
import { isLoggedOut, recordLoggedOut } from '../src/logged-out.js'
import type { RefreshHandoff } from '../src/refresh-handoff.js'
import { createMemorySessionIndex } from '../src/session-index.js'
import {
  nowSeconds,
  type SessionData,
  type StoredLogin,
  type StoredUser,
} from '../src/session-record.js'
import type { AcquireLock, VaultSession } from '../src/session-vault.js'
import { createTokenCipher } from '../src/token-cipher.js'

const KEY = 'codegrant'
const OWNER = { issuer: 'https://as.example', clientId: 'client-1' }
const CLAIMS = { iss: OWNER.issuer, sub: 'user-1', aud: OWNER.clientId, exp: 0, iat: 0, sid: 's1' }

/** A cookie of `limit` bytes: `data` is what the browser sent, `written` what it keeps. */
function cookie(limit = 4000, data: SessionData = {}) {
  let id = 'cookie-1'
  const state = { written: undefined as string | undefined, saves: 0 }
  const session: VaultSession = {
    get id() {
      return id
    },
    data,
    get store(): never {
      throw new Error('a cookie has no store')
    },
    async save() {
      const json = JSON.stringify(data)
      if (json.length > limit) throw sessionTooLarge(json.length, limit)
      state.saves += 1
      state.written = json
    },
    async regenerate() {
      for (const k of Object.keys(data)) delete data[k]
      id = randomBytes(8).toString('hex')
    },
    async destroy() {
      await session.regenerate()
    },
    expireIn() {},
  }
  return { session, state }
}

function vaultOf(options: { handoff?: RefreshHandoff; acquire?: AcquireLock } = {}) {
  const lock = createMemoryLock()
  return createCookieVault({
    sessionKey: KEY,
    maxLogins: 3,
    cipher: createTokenCipher(['cookie-vault-test-secret-0123456789abcdef']),
    acquire: options.acquire ?? ((sid) => lock.acquire(sid)),
    touchAfter: 0,
    ...(options.handoff !== undefined ? { handoff: options.handoff } : {}),
  })
}

const tokens = (n: number, pad = 0): TokenSet => ({
  access_token: `at-${n}${'p'.repeat(pad)}`,
  token_type: 'Bearer',
  refresh_token: `rt-${n}`,
  expires_at: nowSeconds() + 60,
})

function login(state: string, createdAt = nowSeconds()): StoredLogin {
  return {
    transaction: {
      state,
      nonce: 'n',
      code_verifier: 'v',
      redirect_uri: 'http://localhost/callback',
      scope: 'openid',
      created_at: createdAt,
      expires_at: createdAt + 600,
    } as LoginTransaction,
    issuer: OWNER.issuer,
    clientId: OWNER.clientId,
    returnTo: '/',
  }
}

/** Two copies of one logged-in cookie (two requests, or two instances, with the same cookie). */
async function twoCopies(vault: ReturnType<typeof vaultOf>) {
  const first = cookie()
  await vault.logIn(first.session, vault.newUser(OWNER, tokens(1), CLAIMS))
  await vault.save(first.session)
  const copy = () => cookie(4000, JSON.parse(first.state.written!) as SessionData).session
  return { a: copy(), b: copy() }
}

describe('cookie vault', () => {
  it('writes plain records into the cookie and reads them back', async () => {
    const vault = vaultOf()
    const { a } = await twoCopies(vault)
    const user = vault.readUser(a, OWNER)
    expect(user?.tokens.refresh_token).toBe('rt-1')
    expect(vault.readUser(a, { issuer: 'https://other.example', clientId: 'x' })).toBeUndefined()
    expect(Object.isFrozen(user)).toBe(true)
  })

  it('a record that is not a user record reads as a lost login', () => {
    const vault = vaultOf()
    const { session } = cookie(4000, { [KEY]: { user: { claims: {} } } })
    expect(vault.readUser(session)).toBeUndefined()
    expect(vault.holdsLostUser(session)).toBe(true)
  })

  it('two requests with the same cookie refresh once: the second takes the handed-over result', async () => {
    const vault = vaultOf()
    const { a, b } = await twoCopies(vault)
    let refreshes = 0
    const work = async (current: StoredUser) => {
      refreshes += 1
      return { write: vault.newUser(OWNER, tokens(2), CLAIMS, current) }
    }
    const seenA = vault.readUser(a)!
    const seenB = vault.readUser(b)!
    const [ra, rb] = await Promise.all([
      vault.updateUser(a, seenA, work),
      vault.updateUser(b, seenB, work),
    ])
    expect(refreshes).toBe(1)
    expect('user' in ra && ra.user.tokens.refresh_token).toBe('rt-2')
    expect('user' in rb && rb.user.tokens.refresh_token).toBe('rt-2')
    // Both cookies now carry the new tokens.
    expect(vault.readUser(b)?.tokens.access_token).toBe('at-2')
  })

  it('across instances the handoff goes through the shared store (sealed, keyed by a hash)', async () => {
    const shared = new Map<string, string>()
    const handoff: RefreshHandoff = {
      put: async (k, v) => void shared.set(k, v),
      get: async (k) => shared.get(k),
    }
    const lock = createMemoryLock()
    const acquire: AcquireLock = (sid) => lock.acquire(sid)
    const one = vaultOf({ handoff, acquire })
    const two = vaultOf({ handoff, acquire })
    const { a, b } = await twoCopies(one)
    let refreshes = 0
    const work = (vault: ReturnType<typeof vaultOf>) => async (current: StoredUser) => {
      refreshes += 1
      return { write: vault.newUser(OWNER, tokens(2), CLAIMS, current) }
    }
    await Promise.all([
      one.updateUser(a, one.readUser(a)!, work(one)),
      two.updateUser(b, two.readUser(b)!, work(two)),
    ])
    expect(refreshes).toBe(1)
    expect(two.readUser(b)?.tokens.refresh_token).toBe('rt-2')
    for (const [k, v] of shared) {
      expect(k).not.toContain('rt-1')
      expect(v).not.toMatch(/rt-|at-/)
    }
  })

  it('a handed-over result of another login (another loggedInAt) is not taken', async () => {
    const shared = new Map<string, string>()
    const handoff: RefreshHandoff = {
      put: async (k, v) => void shared.set(k, v),
      get: async (k) => shared.get(k),
    }
    const vault = vaultOf({ handoff })
    const { a } = await twoCopies(vault)
    await vault.updateUser(a, vault.readUser(a)!, async (current) => ({
      write: vault.newUser(OWNER, tokens(2), CLAIMS, current),
    }))
    // A later login that happens to carry the same refresh token value.
    const other = vaultOf({ handoff })
    const later = cookie()
    const user = { ...other.newUser(OWNER, tokens(1), CLAIMS), loggedInAt: nowSeconds() + 5 }
    await other.logIn(later.session, user)
    let refreshed = false
    await other.updateUser(later.session, other.readUser(later.session)!, async (current) => {
      refreshed = true
      return { write: other.newUser(OWNER, tokens(3), CLAIMS, current) }
    })
    expect(refreshed).toBe(true)
  })

  it('a refresh whose tokens do not fit ends the login (fail closed) with ERR_SESSION_TOO_LARGE', async () => {
    const vault = vaultOf()
    const { a } = await twoCopies(vault)
    const err = await vault
      .updateUser(a, vault.readUser(a)!, async (current) => ({
        write: vault.newUser(OWNER, tokens(2, 5000), CLAIMS, current),
      }))
      .catch((e: unknown) => e)
    expect(isAuthError(err, 'ERR_SESSION_TOO_LARGE')).toBe(true)
    expect((err as Error).message).not.toContain('ppp')
    expect(vault.readUser(a)).toBeUndefined()
  })

  it('logins in progress: the oldest go until the new one fits; one that cannot fit is refused', async () => {
    const vault = vaultOf()
    const { session, state } = cookie(700)
    const now = nowSeconds()
    for (let i = 0; i < 3; i++) await vault.addLogin(session, login(`state-${i}`, now - 10 + i))
    expect(state.written!.length).toBeLessThanOrEqual(700)
    const kept = Object.keys((JSON.parse(state.written!) as any)[KEY].logins as object)
    expect(kept.at(-1)).toBe('state-2')
    expect(kept.length).toBeLessThan(3)
    const big = login('big')
    big.returnTo = `/${'x'.repeat(2000)}`
    const err = await vault.addLogin(session, big).catch((e: unknown) => e)
    expect(isAuthError(err, 'ERR_SESSION_TOO_LARGE')).toBe(true)
  })

  it('a login is taken exactly once', async () => {
    const vault = vaultOf()
    const { session } = cookie()
    await vault.addLogin(session, login('s'))
    expect(vault.takeLogin(session, 's')?.transaction.state).toBe('s')
    expect(vault.takeLogin(session, 's')).toBeUndefined()
  })

  it('has no store: ending a session by id rejects', async () => {
    const vault = vaultOf()
    await expect(vault.endSessionById(undefined as never, 'x')).rejects.toMatchObject({
      code: 'ERR_SESSION_REQUIRED',
    })
  })
})

describe('logged-out records (back-channel logout of cookie sessions)', () => {
  const user = (loggedInAt: number, sub = 'user-1', sid = 's1'): StoredUser => ({
    claims: { ...CLAIMS, sub, sid },
    issuer: OWNER.issuer,
    clientId: OWNER.clientId,
    tokens: tokens(1),
    tokenVersion: 1,
    tokensObtainedAt: loggedInAt,
    loggedInAt,
  })

  it('a sid record logs out that AS session (of its sub only, when the token named one)', async () => {
    const index = createMemorySessionIndex()
    await recordLoggedOut(index, 'sid', OWNER.issuer, 's1', 'user-1', 60)
    expect(await isLoggedOut(index, user(nowSeconds()))).toBe(true)
    expect(await isLoggedOut(index, user(nowSeconds(), 'user-2'))).toBe(false)
    expect(await isLoggedOut(index, user(nowSeconds(), 'user-1', 's2'))).toBe(false)
  })

  it('a sub record logs out the logins made up to then, not later ones', async () => {
    const index = createMemorySessionIndex()
    await recordLoggedOut(index, 'sub', OWNER.issuer, 'user-1', 'user-1', 60)
    expect(await isLoggedOut(index, user(nowSeconds() - 100))).toBe(true)
    expect(await isLoggedOut(index, user(nowSeconds() + 5))).toBe(false)
    expect(await isLoggedOut(index, user(nowSeconds() - 100, 'user-2'))).toBe(false)
  })
})
