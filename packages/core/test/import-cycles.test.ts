// The module graph of src/ has no cycle (issue 12), type-only imports included.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(SRC + file, 'utf8')
    const deps = [...text.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`)
    edges.set(file, deps)
  }
  return edges
}

function cycles(edges: Map<string, string[]>): string[] {
  const found: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (node: string, path: string[]) => {
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

describe('the module graph of @codegrant/core', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ])
    expect(cycles(edges)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts'])
  })

  it('has no import cycle (options -> dpop -> client -> options was one)', () => {
    const edges = graph()
    expect(edges.size).toBeGreaterThan(10)
    expect(cycles(edges)).toEqual([])
  })
})
