import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

// Vitest 5 targets Node 22 and formats failures with Map.groupBy (ES2024), which Node 20 lacks:
// without this its reporter crashes exactly when a test fails, hiding which one.
const MapWithGroupBy = Map as unknown as { groupBy?: unknown }
if (typeof MapWithGroupBy.groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group) group.push(item)
        else groups.set(k, [item])
      }
      return groups
    },
  })
}

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Tests import the workspace packages from source, so a change is tested without a rebuild.
// The examples, which tests start as child processes, run from the `tsc -b` output instead.
const alias = {
  '@codegrant/core': src('./packages/core/src/index.ts'),
  '@codegrant/session': src('./packages/session/src/index.ts'),
  '@codegrant/internal': src('./packages/internal/src/index.ts'),
  '@codegrant/express': src('./packages/express/src/index.ts'),
  '@codegrant/fastify': src('./packages/fastify/src/index.ts'),
  '@codegrant/resource-server/express': src('./packages/resource-server/src/express/index.ts'),
  '@codegrant/resource-server/fastify': src('./packages/resource-server/src/fastify/index.ts'),
  '@codegrant/resource-server': src('./packages/resource-server/src/index.ts'),
  '@codegrant/local-as': src('./tools/local-as/src/index.ts'),
}

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', './scripts/vitest-summary-reporter.js'],
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Replacing `exclude` drops Vitest's defaults: keep them (test/node_modules links the packages).
          exclude: [...configDefaults.exclude, 'test/interop/**'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Glewlwyd and LemonLDAP::NG from Debian's packages (scripts/ensure-system-deps.mjs
        // installs them): `pnpm exec vitest run --project interop`.
        resolve: { alias },
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
})
