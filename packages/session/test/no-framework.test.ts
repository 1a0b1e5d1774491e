// @codegrant/session is framework-agnostic: no module of its source imports a web framework or
// a session middleware (their types included), so adapters for any of them can build on it.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../src', import.meta.url))
const FRAMEWORKS =
  /^(?:express|express-session|@types\/express(?:-session)?|fastify|@fastify\/.+|koa|hono|connect|connect-redis)(?:\/.*)?$/

/** Every module specifier a source file imports, exports from, or `import()`s. */
function specifiers(text: string): string[] {
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g
  return [...text.matchAll(pattern)].map((m) => m[1]!)
}

describe('@codegrant/session source', () => {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  )

  it('is read (the check below runs over real files)', () => {
    expect(files).toContain('index.ts')
    expect(files).toContain('session-vault.ts')
    expect(specifiers(readFileSync(join(SRC, 'login.ts'), 'utf8'))).toContain('@codegrant/core')
  })

  it('imports no web framework or session middleware', () => {
    const offending = files.flatMap((file) =>
      specifiers(readFileSync(join(SRC, file), 'utf8'))
        .filter((s) => FRAMEWORKS.test(s))
        .map((s) => `${file} -> ${s}`),
    )
    expect(offending).toEqual([])
  })

  it('depends on nothing but @codegrant/core', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    ) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['@codegrant/core'])
    expect(manifest.peerDependencies).toBeUndefined()
  })
})
