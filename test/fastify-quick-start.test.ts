// The Fastify quick start of packages/fastify/README.md (the same block as the root README's),
// run exactly as it stands: extracted after its `<!-- quick-start` marker, its types stripped
// (TypeScript's transpileModule, as `node app.ts` / tsx would), started with `node` on
// http://localhost against the local AS, and type-checked against the packages' .d.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { demoUser, localClients, startLocalAs, type LocalAs } from '@codegrant/local-as'
import ts from 'typescript'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Agent } from './support/agent.js'
import { baseEnv, spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { freePort } from './support/ports.js'

const PACKAGE_README = fileURLToPath(new URL('../packages/fastify/README.md', import.meta.url))
const ROOT_README = fileURLToPath(new URL('../README.md', import.meta.url))
const HERE = fileURLToPath(new URL('.', import.meta.url))
const SESSION_SECRET = 'quick-start-session-secret-0123456789abcdef'
const TOKEN_SECRET = 'quick-start-token-secret-0123456789abcdef-xyz'

/** The ts block after the first marker starting with `marker` in `file`. */
async function snippetOf(file: string, marker: string): Promise<string> {
  const readme = await readFile(file, 'utf8')
  const at = readme.indexOf(marker)
  if (at === -1) throw new Error(`${file} has no ${marker} marker`)
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(at))
  if (block === null) throw new Error(`no ts block after the marker in ${file}`)
  return block[1]!
}

let as: LocalAs
let dir: string
let child: Child | undefined
let base: string
let snippet: string

beforeAll(async () => {
  snippet = await snippetOf(PACKAGE_README, '<!-- quick-start')
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

it('is the same block in the root README', async () => {
  expect(await snippetOf(ROOT_README, '<!-- quick-start: fastify')).toBe(snippet)
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

it('logs in on http://localhost as pasted, with a session cookie that comes back over http', async () => {
  expect(base).toMatch(/^http:\/\/localhost:\d+$/)
  const agent = new Agent(base, 'sessionId')
  const login = await agent.request('/login?returnTo=%2Fprofile')
  expect(login.status).toBe(302)
  const cookie = login.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/^sessionId=/)
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
