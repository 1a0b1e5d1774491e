// The express README's quick start, run exactly as it stands there: the block after the
// `<!-- quick-start` marker is extracted, its types stripped (TypeScript's transpileModule, as
// `node app.ts` / tsx would), and started with `node` on http://localhost against the local AS.
// A user pasting it must be able to log in (issue 14: a Secure cookie on http never came back).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { demoUser, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import ts from 'typescript'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Agent } from './express-harness.js'
import { baseEnv, spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { freePort } from './support/ports.js'

const README = fileURLToPath(new URL('../packages/express/README.md', import.meta.url))
const HERE = fileURLToPath(new URL('.', import.meta.url))
const SESSION_SECRET = 'quick-start-session-secret-0123456789abcdef'
const TOKEN_SECRET = 'quick-start-token-secret-0123456789abcdef-xyz'

/** The code block that follows the quick-start marker in the README. */
export async function quickStartSnippet(): Promise<string> {
  const readme = await readFile(README, 'utf8')
  const marker = readme.indexOf('<!-- quick-start')
  if (marker === -1) throw new Error('the README has no quick-start marker')
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(marker))
  if (block === null) throw new Error('no ts block after the quick-start marker')
  return block[1]!
}

let as: LocalAs
let dir: string
let child: Child | undefined
let base: string
let snippet: string

beforeAll(async () => {
  snippet = await quickStartSnippet()
  const { outputText, diagnostics } = ts.transpileModule(snippet, {
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  })
  expect(diagnostics ?? []).toEqual([])
  as = await startLocalAs()
  // Inside test/ so that the snippet's imports resolve to the workspace packages.
  dir = await mkdtemp(join(HERE, '.quick-start-'))
  const entry = join(dir, 'app.mjs')
  await writeFile(entry, outputText)
  const port = await freePort()
  child = spawnNode(entry, {
    ...baseEnv(),
    PORT: String(port),
    ISSUER_URL: as.issuer,
    CLIENT_ID: localClients.webBasic.clientId,
    CLIENT_SECRET: localClients.webBasic.clientSecret,
    SESSION_SECRET,
    TOKEN_SECRET,
  })
  const [, url] = await waitForOutput(child, /listening on (\S+)/)
  base = url!
}, 30_000)

afterAll(async () => {
  if (child !== undefined) await stopChild(child)
  await as?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

it('type-checks as strict TypeScript (the packages as published: their .d.ts)', async () => {
  const file = join(dir, 'app.mts')
  await writeFile(file, snippet)
  const program = ts.createProgram([file], {
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    types: ['node'],
    noEmit: true,
    skipLibCheck: true,
  })
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  expect(errors).toEqual([])
}, 60_000)

it('is a runnable app: it listens, on http://localhost by default', () => {
  expect(snippet).toContain('app.listen(')
  expect(base).toMatch(/^http:\/\/localhost:\d+$/)
})

it('logs in on http://localhost as pasted, with a session cookie that comes back over http', async () => {
  const agent = new Agent(base)
  const login = await agent.request('/login?returnTo=%2Fprofile')
  expect(login.status).toBe(302)
  // Not Secure on http: otherwise the browser never sends it back and the callback fails.
  const cookie = login.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/^connect\.sid=/)
  expect(cookie).not.toMatch(/;\s*Secure/i)
  const authorization = new URL(login.location ?? '')
  expect(authorization.searchParams.get('redirect_uri')).toBe(`${base}/callback`)
  expect(authorization.searchParams.get('scope')).toContain('offline_access')

  const callback = await agent.finishLogin(authorization)
  expect(callback.status).toBe(302)
  expect(callback.location).toBe('/profile')

  const profile = await agent.json('/profile')
  expect(profile.status).toBe(200)
  expect(profile.body.sub).toBe(demoUser.claims.sub)
  const expiry = await agent.json('/token-expiry')
  expect(expiry.status).toBe(200)
  expect(expiry.body.expiresAt).toBeGreaterThan(Date.now() / 1000)
  const home = await agent.request('/')
  expect(await home.text()).toContain('/profile')
})
