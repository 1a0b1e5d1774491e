// The first hour of a new user, in CI: the five packages as `pnpm pack` makes them, installed
// with npm into a fresh app outside the workspace (no workspace links, no vitest aliases), then
// type-checked as a strict TypeScript user would (node16 ESM, and node10 CommonJS for the
// subpaths), required from CommonJS, and run: a login against the local AS over HTTP.
//
// Third-party packages come from the npm registry at the versions of this workspace's lockfile,
// with --prefer-offline: 94 packages, about 5 s with a warm npm cache and 15 s with an empty one.
import { execFile } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  defaultAudience,
  demoUser,
  localClients,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from './express-harness.js'
import { baseEnv, spawnNode, stopChild, waitForOutput, type Child } from './support/child.js'
import { freePort } from './support/ports.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const packages = ['core', 'session', 'express', 'fastify', 'resource-server'] as const
const tsc = join(root, 'node_modules/typescript/bin/tsc')

interface Run {
  code: number | null
  output: string
}

/** Runs a command to its end; never rejects (the exit code and output tell what happened). */
function run(command: string, args: string[], cwd: string, env = baseEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
        resolve({ code, output: `${stdout}${stderr}` })
      },
    )
  })
}

/** The version this workspace's lockfile installed, so the app tests what CI tests. */
function workspaceVersion(name: string): string {
  const require = createRequire(join(root, 'test/package.json'))
  return (
    JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }
  ).version
}

interface Manifest {
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  types?: string
  typings?: string
  exports?: unknown
}

const readJson = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest

/**
 * The bare specifiers (`express`, `node:crypto`) that the .d.ts files under `dir` import or
 * reference.
 */
function declarationImports(dir: string): Set<string> {
  const found = new Set<string>()
  const pattern =
    /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|reference\s+types=)['"]([^'"./][^'"]*)['"]/g
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
    // Without comments: TSDoc examples show imports that the declarations do not make.
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/(?!\/).*$/gm, '')
    for (const match of text.matchAll(pattern)) found.add(match[1]!)
  }
  return found
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
const packageName = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/')

/** `"types"` somewhere in an `exports` map: the package ships its own declarations. */
function hasTypesCondition(exports: unknown): true | undefined {
  if (exports === null || typeof exports !== 'object') return undefined
  for (const [key, value] of Object.entries(exports)) {
    if (key === 'types' || hasTypesCondition(value)) return true
  }
  return undefined
}

const strict = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noUncheckedSideEffectImports: true,
  types: ['node'],
  target: 'ES2022',
}

const tsconfigs: Record<string, object> = {
  // The app that runs: ESM, node16 resolution ("exports"), emitted to dist/. Our .d.ts and
  // everything they import are type-checked too (skipLibCheck off; TypeScript's own lib files are
  // left out, they are not what this tests).
  'tsconfig.json': {
    compilerOptions: {
      ...strict,
      skipLibCheck: false,
      skipDefaultLibCheck: true,
      lib: ['ES2023'],
      module: 'node16',
      moduleResolution: 'node16',
      verbatimModuleSyntax: true,
      noEmitOnError: true,
      rootDir: 'src',
      outDir: 'dist',
    },
    files: ['src/app.ts'],
  },
  // CommonJS projects on the legacy resolution, which ignores "exports" (typesVersions serves the
  // subpaths there), configured as `tsc --init` does (skipLibCheck, no DOM). One program per
  // adapter, and one with both Express augmentations (`req.auth` of @codegrant/express and
  // `req.accessToken` of @codegrant/resource-server/express: distinct names, no TS2717).
  ...Object.fromEntries(
    [
      'express-global',
      'resource-server-express',
      'both-express',
      'resource-server-fastify',
      'both-fastify',
    ].map((name) => [
      `tsconfig.node10-${name}.json`,
      {
        compilerOptions: {
          ...strict,
          // The program with both augmentations checks the declarations too, where TS2717 is.
          ...(name === 'both-express' || name === 'both-fastify'
            ? { skipLibCheck: false, skipDefaultLibCheck: true }
            : { skipLibCheck: true }),
          lib: ['ES2023'],
          module: 'commonjs',
          moduleResolution: 'node10',
          esModuleInterop: true,
          noEmit: true,
        },
        files: [`cjs/${name}.ts`],
      },
    ]),
  ),
}

const cjsFiles: Record<string, string> = {
  'cjs/package.json': JSON.stringify({ type: 'commonjs' }),
  'cjs/express-global.ts': `import { createClient } from '@codegrant/core'
import { auth, requiresAuth } from '@codegrant/express'
import '@codegrant/express/global'
import express from 'express'

const app = express()
app.use(
  auth({
    client: () =>
      createClient({
        issuer: 'https://as.example.com',
        clientId: 'app',
        clientSecret: 'secret',
        redirectUri: 'https://app.example.com/callback',
      }),
    secret: 'a token secret of at least 32 characters',
  }),
)
app.get('/me', requiresAuth(), (req, res) => {
  // req.auth is typed by @codegrant/express/global
  const loggedIn: boolean = req.auth?.isAuthenticated ?? false
  res.json({ loggedIn, sub: req.auth?.user?.sub })
})
`,
  'cjs/resource-server-express.ts': `import { createVerifier } from '@codegrant/resource-server'
import { tokenErrorHandler, requireToken } from '@codegrant/resource-server/express'
import express from 'express'

const app = express()
const verifier = createVerifier({ issuer: 'https://as.example.com', audience: 'https://api.example.com' })
app.get('/api', requireToken({ verifier }), (req, res) => {
  // req.accessToken is typed by @codegrant/resource-server/express
  const sub: string | undefined = req.accessToken?.sub
  res.json({ sub })
})
app.use(tokenErrorHandler())
`,
  // Both Express packages in one program (the same file test/request-properties.test.ts compiles
  // against the workspace): each augments Express's Request with its own property.
  'cjs/both-express.ts': readFileSync(
    fileURLToPath(new URL('./types/both-express.ts', import.meta.url)),
    'utf8',
  ),
  'cjs/resource-server-fastify.ts': `import Fastify from 'fastify'
import { createVerifier, type AuthInfo } from '@codegrant/resource-server'
import { fastifyResourceServer, protectedResourceMetadata, requireToken } from '@codegrant/resource-server/fastify'

async function main(): Promise<void> {
  const app = Fastify()
  const verifier = createVerifier({
    issuer: 'https://as.example.com',
    audience: 'https://api.example.com',
    resourceMetadata: {},
  })
  await app.register(fastifyResourceServer, { verifier })
  await app.register(protectedResourceMetadata, { verifier })
  app.get('/api', { onRequest: app.requireToken({ scopes: ['read:messages'] }) }, async (request) => {
    // request.accessToken is typed by @codegrant/resource-server/fastify
    const token: AuthInfo | undefined = request.accessToken
    return { sub: token?.sub }
  })
  app.get('/api/other', { onRequest: requireToken({ verifier }) }, async (request) => ({
    sub: request.accessToken?.sub,
  }))
}
void main()
`,
  // @codegrant/fastify and @codegrant/resource-server/fastify in one app: \`request.auth\` and
  // \`request.accessToken\`, each package's own augmentation of FastifyRequest.
  'cjs/both-fastify.ts': `import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { createClient, type IdTokenClaims } from '@codegrant/core'
import { fastifyAuth, requiresAuth, type RequestAuth, type UserClaims } from '@codegrant/fastify'
import { createVerifier, type AuthInfo } from '@codegrant/resource-server'
import { requireToken } from '@codegrant/resource-server/fastify'

async function main(): Promise<void> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, { secret: 'a session secret of at least 32 characters' })
  await app.register(fastifyAuth, {
    client: () =>
      createClient({
        issuer: 'https://as.example.com',
        clientId: 'app',
        clientSecret: 'secret',
        redirectUri: 'https://app.example.com/callback',
      }),
    secret: 'a token secret of at least 32 characters',
  })
  app.get('/me', { onRequest: requiresAuth() }, async (request) => {
    // request.auth is typed by @codegrant/fastify
    const auth: RequestAuth = request.auth
    const user: UserClaims | undefined = auth.user
    const claims: IdTokenClaims | undefined = auth.idTokenClaims
    const email: string | undefined = user?.email
    return { sub: user?.sub, email, iss: claims?.iss, token: await auth.getAccessToken() }
  })
  const verifier = createVerifier({ issuer: 'https://as.example.com', audience: 'https://api.example.com' })
  app.get('/api', { onRequest: requireToken({ verifier }) }, async (request) => {
    const token: AuthInfo | undefined = request.accessToken
    return { sub: token?.sub }
  })
}
void main()
`,
  // Node >= 20.19 require()s ES modules; every entry point must load that way.
  'cjs/smoke.cjs': `const core = require('@codegrant/core')
const engine = require('@codegrant/session')
const express = require('@codegrant/express')
require('@codegrant/express/global')
const fastify = require('@codegrant/fastify')
const rs = require('@codegrant/resource-server')
const rsExpress = require('@codegrant/resource-server/express')
const rsFastify = require('@codegrant/resource-server/fastify')
console.log(JSON.stringify([core.createClient, engine.createSessionVault, express.auth, fastify.requiresAuth, rs.createVerifier, rsExpress.requireToken, rsFastify.requireToken].map((f) => typeof f)))
`,
}

let dir: string
let install: Run
type Check =
  | 'esm'
  | 'express-global'
  | 'resource-server-express'
  | 'both-express'
  | 'resource-server-fastify'
  | 'both-fastify'
let checks: Record<Check, Run>
let as: LocalAs
let app: Child | undefined

beforeAll(async () => {
  for (const name of packages) {
    if (!existsSync(join(root, 'packages', name, 'dist/index.js'))) {
      throw new Error(`packages/${name}/dist is missing: run pnpm exec tsc -b first`)
    }
  }
  dir = mkdtempSync(join(tmpdir(), 'codegrant-packed-app-'))
  const tarballs = join(dir, 'tarballs')
  mkdirSync(tarballs)
  const packs = await Promise.all(
    packages.map((name) =>
      run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name)),
    ),
  )
  for (const pack of packs)
    if (pack.code !== 0) throw new Error(`pnpm pack failed:\n${pack.output}`)
  const tarball = (name: string) => {
    const file = readdirSync(tarballs).find((f) => f.startsWith(`codegrant-${name}-`))
    if (file === undefined) throw new Error(`no tarball for ${name}`)
    return `file:${join(tarballs, file)}`
  }

  const appDir = join(dir, 'app')
  mkdirSync(join(appDir, 'src'), { recursive: true })
  mkdirSync(join(appDir, 'cjs'))
  const pinned = (name: string) => [name, workspaceVersion(name)]
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({
      name: 'packed-app',
      private: true,
      type: 'module',
      dependencies: {
        '@codegrant/core': tarball('core'),
        '@codegrant/session': tarball('session'),
        '@codegrant/express': tarball('express'),
        '@codegrant/fastify': tarball('fastify'),
        '@codegrant/resource-server': tarball('resource-server'),
        ...Object.fromEntries(
          ['express', 'express-session', 'fastify', '@fastify/cookie', '@fastify/session'].map(
            pinned,
          ),
        ),
      },
      devDependencies: Object.fromEntries(
        ['@types/express', '@types/express-session', '@types/node'].map(pinned),
      ),
      // @codegrant/express and @codegrant/fastify depend on @codegrant/core and
      // @codegrant/session 0.1.0: the tarballs, never the registry.
      overrides: {
        '@codegrant/core': '$@codegrant/core',
        '@codegrant/session': '$@codegrant/session',
      },
    }),
  )
  copyFileSync(join(root, 'test/packed-app/app.ts'), join(appDir, 'src/app.ts'))
  for (const [file, config] of Object.entries(tsconfigs)) {
    writeFileSync(join(appDir, file), JSON.stringify(config, null, 2))
  }
  for (const [file, text] of Object.entries(cjsFiles)) writeFileSync(join(appDir, file), text)

  install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
    ],
    appDir,
  )
  if (install.code !== 0) throw new Error(`npm install failed:\n${install.output}`)
  const [localAs, ...runs] = await Promise.all([
    startLocalAs(),
    ...Object.keys(tsconfigs).map((config) => run(process.execPath, [tsc, '-p', config], appDir)),
  ])
  as = localAs as LocalAs
  const names = Object.keys(tsconfigs).map((file) =>
    file === 'tsconfig.json' ? 'esm' : file.replace(/^tsconfig\.node10-(.*)\.json$/, '$1'),
  )
  checks = Object.fromEntries(names.map((name, i) => [name, runs[i] as Run])) as Record<Check, Run>
}, 300_000)

afterAll(async () => {
  if (app !== undefined) await stopChild(app)
  await as?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('an app built from the packed tarballs', () => {
  it('installs them with npm: the tarballs, with LICENSE and CHANGELOG, no second copy of core or session', () => {
    expect(install.code, install.output).toBe(0)
    const modules = join(dir, 'app/node_modules')
    for (const name of packages) {
      const installed = join(modules, '@codegrant', name)
      expect(lstatSync(installed).isSymbolicLink()).toBe(false)
      expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain('MIT License')
      expect(readFileSync(join(installed, 'CHANGELOG.md'), 'utf8')).toContain('## [Unreleased]')
    }
    expect(existsSync(join(modules, '@codegrant/express/node_modules/@codegrant/core'))).toBe(false)
    expect(existsSync(join(modules, '@codegrant/express/node_modules/@codegrant/session'))).toBe(
      false,
    )
    expect(existsSync(join(modules, '@codegrant/session/node_modules/@codegrant/core'))).toBe(false)
    for (const copy of ['core', 'session']) {
      expect(existsSync(join(modules, `@codegrant/fastify/node_modules/@codegrant/${copy}`))).toBe(
        false,
      )
    }
  })

  it('inlines the private @codegrant/internal: no packed file names it, no manifest depends on it', () => {
    const modules = join(dir, 'app/node_modules')
    const mentions: string[] = []
    for (const name of packages) {
      const installed = join(modules, '@codegrant', name)
      for (const entry of readdirSync(installed, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue
        const file = join(entry.parentPath, entry.name)
        if (readFileSync(file, 'utf8').includes('@codegrant/internal')) mentions.push(file)
      }
      const manifest = readJson(join(installed, 'package.json')) as Manifest &
        Record<string, unknown>
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        expect(Object.keys((manifest[field] as object | undefined) ?? {})).not.toContain(
          '@codegrant/internal',
        )
      }
    }
    expect(mentions).toEqual([])
    expect(existsSync(join(modules, '@codegrant/internal'))).toBe(false)
  })

  it('declares none of the internal helpers in a published .d.ts (no internal type leaks)', () => {
    // The names packages/internal/src/index.ts exports, values and types alike.
    const barrel = readFileSync(join(root, 'packages/internal/src/index.ts'), 'utf8')
    const names = [...barrel.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((match) =>
      match[1]!
        .split(',')
        .map((item) => item.replace(/^\s*type\s+/, '').trim())
        .filter((item) => item !== ''),
    )
    expect(names).toContain('LruCache')
    const declared = new RegExp(
      `\\b(?:class|function|interface|type|const)\\s+(${names.join('|')})\\b`,
    )
    const leaks: string[] = []
    for (const name of packages) {
      const installed = join(dir, 'app/node_modules/@codegrant', name, 'dist')
      for (const entry of readdirSync(installed, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
        const found = declared.exec(readFileSync(join(entry.parentPath, entry.name), 'utf8'))
        if (found !== null) leaks.push(`${name}/${entry.name}: ${found[1]}`)
      }
    }
    expect(leaks).toEqual([])
  })

  it('declares every package its published .d.ts import, and its @types when it has no types', () => {
    const modules = join(dir, 'app/node_modules')
    const missing: string[] = []
    for (const name of packages) {
      const installed = join(modules, '@codegrant', name)
      const manifest = readJson(join(installed, 'package.json'))
      const declared = { ...manifest.dependencies, ...manifest.peerDependencies }
      for (const specifier of declarationImports(join(installed, 'dist'))) {
        if (specifier.startsWith('node:')) continue // @types/node: the app's, as for any Node library
        const imported = packageName(specifier)
        if (!(imported in declared)) missing.push(`${name} -> ${imported}`)
        const own = readJson(join(modules, imported, 'package.json'))
        const typed = own.types ?? own.typings ?? hasTypesCondition(own.exports)
        const types = `@types/${imported.replace(/^@([^/]+)\//, '$1__')}`
        if (typed === undefined && !(types in declared)) missing.push(`${name} -> ${types}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('type-checks a strict ESM app using the packages (node16)', () => {
    expect(checks.esm.output).toBe('')
    expect(checks.esm.code).toBe(0)
  })

  it('type-checks @codegrant/express/global from CommonJS with moduleResolution node10', () => {
    expect(checks['express-global'].output).toBe('')
    expect(checks['express-global'].code).toBe(0)
  })

  it('type-checks @codegrant/resource-server/express from CommonJS with moduleResolution node10', () => {
    expect(checks['resource-server-express'].output).toBe('')
    expect(checks['resource-server-express'].code).toBe(0)
  })

  it('type-checks @codegrant/express/global and @codegrant/resource-server/express in one program (no TS2717)', () => {
    expect(checks['both-express'].output).toBe('')
    expect(checks['both-express'].code).toBe(0)
  })

  it('type-checks @codegrant/resource-server/fastify from CommonJS with moduleResolution node10', () => {
    expect(checks['resource-server-fastify'].output).toBe('')
    expect(checks['resource-server-fastify'].code).toBe(0)
  })

  it('type-checks @codegrant/fastify and @codegrant/resource-server/fastify in one program (node10)', () => {
    expect(checks['both-fastify'].output).toBe('')
    expect(checks['both-fastify'].code).toBe(0)
  })

  it('loads every entry point with require() from CommonJS', async () => {
    const smoke = await run(process.execPath, ['cjs/smoke.cjs'], join(dir, 'app'))
    expect(smoke.output.trim()).toBe(JSON.stringify(Array(7).fill('function')))
    expect(smoke.code).toBe(0)
  })

  it('logs in against the local AS and calls its own API with the session access token', async () => {
    expect(checks.esm.code).toBe(0)
    const port = await freePort()
    app = spawnNode(
      'dist/app.js',
      {
        ...baseEnv(),
        ISSUER_URL: as.issuer,
        CLIENT_ID: localClients.webBasic.clientId,
        CLIENT_SECRET: localClients.webBasic.clientSecret,
        API_AUDIENCE: defaultAudience,
        PORT: String(port),
      },
      join(dir, 'app'),
    )
    await waitForOutput(app, /listening/)
    const agent = new Agent(`http://127.0.0.1:${port}`)

    expect((await agent.json('/me')).status).toBe(401)
    const login = await agent.startLogin('/me')
    expect(login.origin).toBe(new URL(as.issuer).origin)
    const callback = await agent.finishLogin(login)
    expect(callback.status).toBe(302)
    expect(callback.location).toBe('/me')

    const me = await agent.json('/me')
    expect(me).toEqual({ status: 200, body: { sub: demoUser.claims.sub } })
    const api = await agent.json('/call-api')
    expect(api.status).toBe(200)
    expect(api.body.sub).toBe(demoUser.claims.sub)
    expect(api.body.scopes).toContain('read:messages')
  })
})
