// The session vault against an in-memory JSON store (test/support/memory-store.ts, the semantics
// of express-session's MemoryStore and @fastify/session's store), with injected delays (gates)
// and failures. Each race test names the line of the vault it guards: removing that line makes
// the test fail.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TokenSet } from '@codegrant/core'
import { describe, expect, it } from 'vitest'
import { createMemoryLock } from '../src/lock.js'
import type { SessionData, StoredUser } from '../src/session-record.js'
import {
  createSessionVault,
  type AcquireLock,
  type SessionStore,
  type SessionVault,
  type VaultSession,
} from '../src/session-vault.js'
import { createTokenCipher } from '../src/token-cipher.js'
import { JsonMemoryStore } from './support/memory-store.js'

const KEY = 'codegrant'
const OWNER = { issuer: 'https://as.example', clientId: 'client-1' }
const CLAIMS = { iss: OWNER.issuer, sub: 'user-1', aud: OWNER.clientId, exp: 0, iat: 0 }

/** A gate: `wait()` resolves once `open()` is called; `reached` resolves when someone waits. */
function gate() {
  let open!: () => void
  let reached!: () => void
  const opened = new Promise<void>((r) => (open = r))
  const reachedP = new Promise<void>((r) => (reached = r))
  return {
    open,
    reached: reachedP,
    wait: () => {
      reached()
      return opened
    },
  }
}

type Gate = ReturnType<typeof gate>
type Cb = (err?: unknown, value?: unknown) => void

/**
 * A memory store whose next `get` can be held (the value is read at call time, delivered when the
 * gate opens), whose next `set` can be held before it writes, and which can fail.
 */
function testStore() {
  const store = new JsonMemoryStore()
  const gates: { get: Gate[]; set: Gate[] } = { get: [], set: [] }
  const counts = { get: 0, set: 0, touch: 0, destroy: 0 }
  let failing = false
  const get = store.get.bind(store)
  const set = store.set.bind(store)
  const touch = store.touch.bind(store)
  const destroy = store.destroy.bind(store)
  const target: SessionStore = store
  target.get = (sid: string, cb: Cb) => {
    counts.get += 1
    if (failing) return cb(new Error('store down'))
    const held = gates.get.shift()
    get(sid, (err, value) => {
      if (held === undefined) cb(err, value)
      else void held.wait().then(() => cb(err, value))
    })
  }
  target.set = (sid: string, value: SessionData, cb?: Cb) => {
    counts.set += 1
    if (failing) return cb?.(new Error('store down'))
    const held = gates.set.shift()
    const write = () => set(sid, value, cb)
    if (held === undefined) write()
    else void held.wait().then(write)
  }
  target.touch = (sid: string, value: SessionData, cb?: Cb) => {
    counts.touch += 1
    touch(sid, value, cb)
  }
  target.destroy = (sid: string, cb?: Cb) => {
    counts.destroy += 1
    destroy(sid, cb)
  }
  return {
    store: target,
    counts,
    holdNextGet: () => {
      const g = gate()
      gates.get.push(g)
      return g
    },
    holdNextSet: () => {
      const g = gate()
      gates.set.push(g)
      return g
    },
    fail: (on: boolean) => {
      failing = on
    },
    peek: (sid: string): Promise<SessionData | undefined> =>
      new Promise((resolve, reject) =>
        get(sid, (err, value) =>
          err ? reject(err as Error) : resolve((value ?? undefined) as SessionData | undefined),
        ),
      ),
  }
}

const cookie = () => ({ originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000) })

/** A request's session over the store, the way express-session gives one to the vault. */
function requestSession(store: SessionStore, sid: string, data: SessionData): VaultSession {
  let id = sid
  let current = data
  const cb = (resolve: () => void, reject: (e: unknown) => void) => (err?: unknown) =>
    err ? reject(err) : resolve()
  return {
    get id() {
      return id
    },
    get data() {
      return current
    },
    store,
    save: () => new Promise((res, rej) => store.set(id, current, cb(res, rej))),
    regenerate: () =>
      new Promise((res, rej) =>
        store.destroy(
          id,
          cb(() => {
            id = randomBytes(12).toString('base64url')
            current = { cookie: cookie() }
            res()
          }, rej),
        ),
      ),
    destroy: () => new Promise((res, rej) => store.destroy(id, cb(res, rej))),
    expireIn(seconds) {
      current.cookie = {
        originalMaxAge: seconds * 1000,
        expires: new Date(Date.now() + seconds * 1000),
      }
    },
  }
}

const memoryLock = (): AcquireLock => {
  const lock = createMemoryLock()
  return (sid) => lock.acquire(sid)
}
/** A lock that was lost (expired while held, another instance took it): excludes nobody. */
const lostLock: AcquireLock = async () => async () => undefined

function setup(acquire: AcquireLock = memoryLock(), touchAfter = 60) {
  const s = testStore()
  const vault = createSessionVault({
    sessionKey: KEY,
    maxLogins: 3,
    cipher: createTokenCipher(['v'.repeat(40)]),
    acquire,
    touchAfter,
  })
  vault.attach(s.store)
  return { ...s, vault }
}

const tokens = (n: number): TokenSet => ({
  access_token: `at-${n}`,
  refresh_token: `rt-${n}`,
  token_type: 'Bearer',
  expires_at: Math.floor(Date.now() / 1000) + 3600,
})

/** A logged-in session in the store (as a login leaves it); returns its id and user. */
async function loggedIn(vault: SessionVault, store: SessionStore) {
  const user = vault.newUser(OWNER, tokens(1), CLAIMS)
  const req = requestSession(store, randomBytes(12).toString('base64url'), { cookie: cookie() })
  await vault.logIn(req, user)
  await vault.save(req)
  return { sid: req.id, user }
}

/** What a second request of the same session loaded (its own copy). */
async function load(vault: SessionVault, store: SessionStore, sid: string) {
  const data = await vault.load(store, sid)
  if (data === undefined) throw new Error('no session')
  return requestSession(store, sid, data)
}

/** The user record the store holds for `sid`, opened by the vault. */
async function storedUserOf(
  vault: SessionVault,
  store: SessionStore,
  peek: (sid: string) => Promise<SessionData | undefined>,
  sid: string,
): Promise<StoredUser | undefined> {
  const data = await peek(sid)
  return data === undefined ? undefined : vault.readUser(requestSession(store, sid, data))
}

describe('session vault: the store guard', () => {
  it('a stale save keeps the newer token record a refresh stored meanwhile', async () => {
    const { vault, store, peek } = setup()
    const { sid, user } = await loggedIn(vault, store)
    const stale = await load(vault, store, sid)
    const refresher = await load(vault, store, sid)
    const refreshed = await vault.updateUser(refresher, user, async (current) => ({
      write: vault.newUser(OWNER, tokens(2), CLAIMS, current),
    }))
    expect('user' in refreshed && refreshed.user.tokenVersion).toBe(2)
    stale.data.cart = 'apples'
    await vault.save(stale)
    // Guarded by: `section.user = theirUser` (a stale save never replaces a newer record).
    const after = await storedUserOf(vault, store, peek, sid)
    expect(after?.tokenVersion).toBe(2)
    expect(after?.tokens.access_token).toBe('at-2')
    expect((await peek(sid))?.cart).toBe('apples')
  })

  it('a save after logout does not bring the destroyed session back', async () => {
    const { vault, store, peek } = setup()
    const { sid } = await loggedIn(vault, store)
    const stale = await load(vault, store, sid)
    await vault.endSession(await load(vault, store, sid), 'destroy')
    stale.data.cart = 'apples'
    await vault.save(stale)
    // Guarded by: `if (stored === undefined && section.persisted === true) return`.
    expect(await peek(sid)).toBeUndefined()
  })

  it('a stale save waits for the session lock, so it cannot land between a refresh read and write', async () => {
    const { vault, store, peek, holdNextGet } = setup()
    const { sid, user } = await loggedIn(vault, store)
    const stale = await load(vault, store, sid)
    const as = gate()
    const refresh = vault.updateUser(await load(vault, store, sid), user, async (current) => {
      await as.wait()
      return { write: vault.newUser(OWNER, tokens(2), CLAIMS, current) }
    })
    await as.reached
    // The next store read is held: without the lock it is the stale save's (it reads version 1,
    // the refresh then writes version 2, the stale save writes version 1 back).
    const held = holdNextGet()
    stale.data.cart = 'apples'
    const save = vault.save(stale)
    await sleep(20)
    as.open()
    await sleep(20)
    held.open()
    await Promise.all([refresh, save])
    // Guarded by: `const release = await first.acquire(sid)` in the guarded write.
    expect((await storedUserOf(vault, store, peek, sid))?.tokenVersion).toBe(2)
    expect((await peek(sid))?.cart).toBe('apples')
  })

  it('a consumed login is not merged back from the stored copy', async () => {
    const { vault, store, peek } = setup()
    const sid = randomBytes(12).toString('base64url')
    const first = requestSession(store, sid, { cookie: cookie() })
    const login = (state: string) => ({
      transaction: {
        state,
        code_verifier: 'v',
        redirect_uri: 'https://rp/cb',
        response_mode: 'query' as const,
        scope: 'openid',
        created_at: Math.floor(Date.now() / 1000),
        expires_at: Math.floor(Date.now() / 1000) + 600,
      },
      ...OWNER,
      returnTo: '/',
    })
    await vault.addLogin(first, login('s1'))
    const callback = await load(vault, store, sid)
    expect(vault.takeLogin(callback, 's1')?.returnTo).toBe('/')
    expect(vault.takeLogin(callback, 's1')).toBeUndefined()
    await vault.save(callback)
    // Guarded by: `markConsumed(session.data, state)` in takeLogin.
    const section = (await peek(sid))?.[KEY] as { logins?: Record<string, unknown> } | undefined
    expect(section?.logins?.s1).toBeUndefined()
  })

  it('forwards a touch (rolling expiry) at most once per touchAfter seconds per session', async () => {
    const { vault, store, counts } = setup(memoryLock(), 1)
    const { sid } = await loggedIn(vault, store)
    const data = (await vault.load(store, sid))!
    const touch = () => new Promise<void>((r) => store.touch!(sid, data, () => r()))
    // Just written: not due.
    await touch()
    await touch()
    expect(counts.touch).toBe(0)
    await sleep(1100)
    await touch()
    await touch()
    expect(counts.touch).toBe(1)
  })

  it('a store failure is a typed ERR_STORE_UNAVAILABLE', async () => {
    const { vault, store, fail } = setup()
    const { sid } = await loggedIn(vault, store)
    const req = await load(vault, store, sid)
    fail(true)
    await expect(vault.save(req)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
    await expect(vault.load(store, sid)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
  })
})

describe('session vault: updateUser', () => {
  it('logout wins over an in-flight refresh (the refresh write lands first, then the logout)', async () => {
    const { vault, store, peek, holdNextSet } = setup()
    const { sid, user } = await loggedIn(vault, store)
    const write = holdNextSet()
    const refresh = vault.updateUser(await load(vault, store, sid), user, async (current) => ({
      write: vault.newUser(OWNER, tokens(2), CLAIMS, current),
    }))
    await write.reached
    const logout = vault.endSession(await load(vault, store, sid), 'destroy')
    await sleep(20)
    write.open()
    await Promise.all([refresh, logout])
    // Guarded by: the lock in endSession (`withLock(session.id, ...)`).
    expect(await peek(sid)).toBeUndefined()
  })

  it('a refresh that lost its lock does not write over a newer token record', async () => {
    const { vault, store, peek } = setup(lostLock)
    const { sid, user } = await loggedIn(vault, store)
    const as = gate()
    const slow = vault.updateUser(await load(vault, store, sid), user, async (current) => {
      await as.wait()
      return { write: vault.newUser(OWNER, tokens(2), CLAIMS, current) }
    })
    await as.reached
    const other = await vault.updateUser(await load(vault, store, sid), user, async (current) => ({
      write: vault.newUser(OWNER, tokens(3), CLAIMS, current),
    }))
    expect('user' in other).toBe(true)
    as.open()
    const outcome = await slow
    // Guarded by: `if (latestUser.tokenVersion !== current.tokenVersion)`.
    const stored = await storedUserOf(vault, store, peek, sid)
    expect(stored?.tokens.access_token).toBe('at-3')
    expect('user' in outcome && outcome.user.tokens.access_token).toBe('at-3')
  })

  it('a refresh that lost its lock does not bring back a session destroyed meanwhile', async () => {
    const { vault, store, peek } = setup(lostLock)
    const { sid, user } = await loggedIn(vault, store)
    const as = gate()
    const slow = vault.updateUser(await load(vault, store, sid), user, async (current) => {
      await as.wait()
      return { write: vault.newUser(OWNER, tokens(2), CLAIMS, current) }
    })
    await as.reached
    await vault.endSessionById(store, sid)
    as.open()
    // Guarded by: the re-read before the write (`latest === undefined` ends it).
    expect(await slow).toHaveProperty('ended')
    expect(await peek(sid)).toBeUndefined()
  })

  it('an ended grant destroys the session in the store, whatever the request does next', async () => {
    const { vault, store, peek } = setup()
    const { sid, user } = await loggedIn(vault, store)
    const cause = new Error('invalid_grant')
    const outcome = await vault.updateUser(await load(vault, store, sid), user, async () => ({
      end: cause,
    }))
    expect(outcome).toEqual({ ended: cause })
    // Guarded by: `await raw.destroy(sid)` for `{ end }`.
    expect(await peek(sid)).toBeUndefined()
  })

  it('adopts what another request stored instead of refreshing again', async () => {
    const { vault, store, counts } = setup()
    const { sid, user } = await loggedIn(vault, store)
    await vault.updateUser(await load(vault, store, sid), user, async (current) => ({
      write: vault.newUser(OWNER, tokens(2), CLAIMS, current),
    }))
    const late = await load(vault, store, sid)
    const setsBefore = counts.set
    let seenVersion = 0
    const outcome = await vault.updateUser(late, user, async (current) => {
      seenVersion = current.tokenVersion
      return { keep: true }
    })
    expect(seenVersion).toBe(2)
    expect('user' in outcome && outcome.user.tokenVersion).toBe(2)
    // Nothing changed: nothing written.
    expect(counts.set).toBe(setsBefore)
  })
})

describe('session vault: logins in progress', () => {
  const login = (state: string, created: number) => ({
    transaction: {
      state,
      code_verifier: 'v',
      redirect_uri: 'https://rp/cb',
      response_mode: 'query' as const,
      scope: 'openid',
      created_at: created,
      expires_at: created + 600,
    },
    ...OWNER,
    returnTo: '/',
  })

  it('keeps at most maxLogins and makes a session holding only logins expire with them', async () => {
    const { vault, store, peek } = setup()
    const sid = randomBytes(12).toString('base64url')
    const req = requestSession(store, sid, { cookie: cookie() })
    const now = Math.floor(Date.now() / 1000)
    for (let i = 0; i < 5; i++) await vault.addLogin(req, login(`s${i}`, now + i))
    const stored = (await peek(sid))!
    const logins = (stored[KEY] as { logins: Record<string, unknown> }).logins
    expect(Object.keys(logins)).toEqual(['s2', 's3', 's4'])
    const maxAge = (stored.cookie as { originalMaxAge: number }).originalMaxAge
    expect(maxAge).toBeGreaterThan(600_000)
    expect(maxAge).toBeLessThanOrEqual(670_000)
  })

  it('leaves the expiry of a session that holds other data alone', async () => {
    const { vault, store, peek } = setup()
    const sid = randomBytes(12).toString('base64url')
    const req = requestSession(store, sid, { cookie: cookie(), cart: 'apples' })
    await vault.addLogin(req, login('s1', Math.floor(Date.now() / 1000)))
    expect(((await peek(sid))!.cookie as { originalMaxAge: number }).originalMaxAge).toBe(
      86_400_000,
    )
  })

  it('refuses a user record copied into another session, or edited, and reports it', async () => {
    const refused: string[] = []
    const s = testStore()
    const vault = createSessionVault({
      sessionKey: KEY,
      maxLogins: 3,
      cipher: createTokenCipher(['v'.repeat(40)]),
      acquire: memoryLock(),
      touchAfter: 60,
      onTampered: (what) => refused.push(what),
    })
    vault.attach(s.store)
    const { sid } = await loggedIn(vault, s.store)
    const sealed = ((await s.peek(sid))![KEY] as { user: string }).user
    expect(typeof sealed).toBe('string')
    expect(sealed).not.toContain('user-1')
    // The attacker's own session, with the victim's sealed record pasted in.
    const other = requestSession(s.store, 'attacker-session', {
      cookie: cookie(),
      [KEY]: { user: sealed },
    })
    expect(vault.readUser(other)).toBeUndefined()
    // Edited in place (one character of the ciphertext).
    const parts = sealed.split('.')
    parts[3] = `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`
    const edited = requestSession(s.store, sid, {
      cookie: cookie(),
      [KEY]: { user: parts.join('.') },
    })
    expect(vault.readUser(edited)).toBeUndefined()
    expect(refused).toEqual(['user record', 'user record'])
    // The genuine record still opens.
    expect(vault.readUser(await load(vault, s.store, sid))?.claims.sub).toBe('user-1')
  })

  it('refuses a login in progress copied into another session', async () => {
    const { vault, store, peek } = setup()
    const sid = randomBytes(12).toString('base64url')
    await vault.addLogin(
      requestSession(store, sid, { cookie: cookie() }),
      login('s1', Math.floor(Date.now() / 1000)),
    )
    const logins = ((await peek(sid))![KEY] as { logins: Record<string, string> }).logins
    expect(logins.s1).not.toContain('"v"')
    const other = requestSession(store, 'attacker-session', { cookie: cookie(), [KEY]: { logins } })
    expect(vault.takeLogin(other, 's1')).toBeUndefined()
    expect(vault.takeLogin(await load(vault, store, sid), 's1')?.returnTo).toBe('/')
  })

  it('reads a record of the older layout as logged out', async () => {
    const { vault, store } = setup()
    const sid = randomBytes(12).toString('base64url')
    const old = { claims: CLAIMS, tok: 'v1.x', v: 3, obt: 1, login: 1 }
    const req = requestSession(store, sid, { cookie: cookie(), [KEY]: { p: 1, user: old } })
    expect(vault.readUser(req)).toBeUndefined()
  })
})
