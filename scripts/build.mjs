// `pnpm build` (and `prepare`, so `pnpm install` builds): the whole workspace, with the private
// @codegrant/internal inlined into every published package (packages/internal/README.md says why).
//
// Each package of BUNDLED, in this order (a package after the ones it depends on):
//   1. `tsc -b <dir>` type-checks it and emits JS and .d.ts to <dir>/build/ (its tsconfig's
//      outDir; @codegrant/internal is built first, as a project reference);
//   2. rollup bundles <dir>/build/ into <dir>/dist/, JS and .d.ts, one file per entry point of
//      its package.json "exports" (modules shared by two entry points go to dist/chunks/), with
//      @codegrant/internal inlined and every other bare import left external.
// Then `tsc -b` builds the rest (express, tools, examples) against those dist/ files, as a user
// would see them.
//
// A new published package adopts this with one line here (and `"outDir": "build"` in its
// tsconfig.json).
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'

const BUNDLED = [
  'packages/core',
  'packages/session',
  'packages/resource-server',
  'packages/express',
]

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const INTERNAL = '@codegrant/internal'
const internalDist = join(root, 'packages/internal/dist')

/** Resolves @codegrant/internal to its built files, so rollup inlines it. */
const inlineInternal = (file) => ({
  name: 'inline-codegrant-internal',
  resolveId: (id) => (id === INTERNAL ? join(internalDist, file) : null),
})

/** Bare specifiers stay imports of the published file; relative ones and internal are bundled. */
const external = (id) => id !== INTERNAL && !id.startsWith('.') && !id.startsWith('/')

/** `{ 'express/index': 'express/index' }` from `"./express": { "default": "./dist/express/index.js" }`. */
function entryPoints(dir) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  const entries = []
  for (const target of Object.values(manifest.exports)) {
    if (typeof target !== 'object' || target === null) continue // "./package.json"
    const match = /^\.\/dist\/(.+)\.js$/.exec(target.default)
    if (match === null || target.types !== `./dist/${match[1]}.d.ts`) {
      throw new Error(`${dir}: every export must be { types: ./dist/X.d.ts, default: ./dist/X.js }`)
    }
    entries.push(match[1])
  }
  return entries
}

async function bundle(dir, extension, plugins) {
  const build = join(root, dir, 'build')
  const input = Object.fromEntries(
    entryPoints(dir).map((name) => [name, join(build, `${name}${extension}`)]),
  )
  const result = await rollup({
    input,
    external,
    plugins,
    // Importing a Node built-in has no side effect: one the bundle ends up not using is dropped.
    treeshake: { moduleSideEffects: (id, isExternal) => !(isExternal && id.startsWith('node:')) },
    onwarn(warning) {
      // A types-only entry point (`@codegrant/express/global`) is an empty module, as tsc emits it.
      if (warning.code === 'EMPTY_BUNDLE') return
      throw new Error(`${dir}: rollup: ${warning.message}`)
    },
  })
  await result.write({
    dir: join(root, dir, 'dist'),
    format: 'es',
    entryFileNames: `[name]${extension}`,
    // rollup names a .d.ts chunk `verifier.d`: without the `.d`, `chunks/verifier.d.ts`.
    chunkFileNames: (chunk) => `chunks/${chunk.name.replace(/\.d$/, '')}${extension}`,
  })
  await result.close()
}

const run = (args) =>
  execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' })

try {
  for (const dir of BUNDLED) {
    run(['-b', dir])
    rmSync(join(root, dir, 'dist'), { recursive: true, force: true })
    await bundle(dir, '.js', [inlineInternal('index.js')])
    await bundle(dir, '.d.ts', [inlineInternal('index.d.ts'), dts({ respectExternal: false })])
  }
  run(['-b'])
} catch (err) {
  // tsc has printed its diagnostics; rollup's message is enough.
  if (!(err instanceof Error && 'status' in err))
    console.error(err instanceof Error ? err.message : err)
  process.exit(1)
}
