// The module graph of every package's src/ has no cycle (issue 12), type-only imports and the
// imports between packages included: core's options -> dpop -> client -> options was one.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGES = join(ROOT, 'packages')

/**
 * The source module behind a package import, through its package.json "exports":
 * `@codegrant/express/global` -> `./dist/global.js` -> packages/express/src/global.ts.
 */
function packageEntry(specifier: string): string | undefined {
  const match = /^@codegrant\/([\w-]+)(\/[\w/-]+)?$/.exec(specifier)
  if (match === null) return undefined
  const dir = join(PACKAGES, match[1]!)
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string }>
  }
  const target = manifest.exports[`.${match[2] ?? ''}`]?.default
  if (target === undefined) throw new Error(`${specifier} is not exported`)
  return join(dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

/** Every module of every package's src/, with the modules it imports (or re-exports from). */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const pkg of readdirSync(PACKAGES)) {
    for (const file of sources(join(PACKAGES, pkg, 'src'))) {
      // Comments out first: TSDoc examples import the package they document.
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      const deps = [...text.matchAll(/(?:\bfrom\s+|^import\s+)'([^']+)'/gm)].flatMap(([, spec]) => {
        if (spec!.startsWith('.')) return [resolve(dirname(file), spec!.replace(/\.js$/, '.ts'))]
        const entry = packageEntry(spec!)
        return entry === undefined ? [] : [entry]
      })
      edges.set(file, deps)
    }
  }
  return edges
}

function cycles(edges: Map<string, readonly string[]>): string[] {
  const found: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (node: string, path: string[]): void => {
    state.set(node, 'visiting')
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'visiting') {
        found.push([...path.slice(path.indexOf(next)), next].join(' -> '))
      } else if (state.get(next) === undefined) {
        visit(next, [...path, next])
      }
    }
    state.set(node, 'done')
  }
  for (const node of edges.keys()) if (state.get(node) === undefined) visit(node, [node])
  return found
}

describe('the module graph of the packages', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ])
    expect(cycles(edges)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts'])
  })

  it('reads the imports it checks: relative, re-exports, subpaths and other packages', () => {
    const edges = graph()
    const of = (file: string): string[] =>
      (edges.get(join(PACKAGES, file)) ?? []).map((dep) => relative(PACKAGES, dep))
    expect(edges.size).toBeGreaterThan(60)
    expect(of('core/src/index.ts')).toContain('core/src/client.ts')
    expect(of('session/src/options.ts')).toContain('core/src/index.ts')
    expect(of('session/src/options.ts')).toContain('internal/src/index.ts')
    // Every edge leads to a module that exists: a resolver that got paths wrong finds no cycle.
    for (const deps of edges.values())
      for (const dep of deps) expect(edges.has(dep), dep).toBe(true)
  })

  it('has no import cycle', () => {
    expect(cycles(graph()).map((cycle) => cycle.replaceAll(PACKAGES + '/', ''))).toEqual([])
  })
})
