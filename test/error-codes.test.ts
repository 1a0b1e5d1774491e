import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { AuthError, type AuthErrorCode } from '@codegrant/express'
import { ERROR_TABLE, type ResourceServerErrorCode } from '@codegrant/resource-server'

// The error-code rule of docs/error-codes.md: a code shared by several packages means one thing
// (one row there, the same words in every package's documentation), and every declared code is
// thrown somewhere in its package's source (a code only a test throws is unused).

const root = fileURLToPath(new URL('..', import.meta.url))

interface Package {
  /** The column name in docs/error-codes.md. */
  readonly name: 'core' | 'express' | 'resource-server'
  readonly dir: string
  /** Where the README with the package's error table is, when not in `dir` (the engine's codes are documented by its adapter). */
  readonly readmeDir?: string
  /** The code union declared in `src/errors.ts`. */
  readonly union: string
  /** Whether `src/errors.ts` documents a meaning per code in its TSDoc table (`| code | ... |`). */
  readonly tsdocMeanings: boolean
  /** Whether the README's error table has a meaning column (its last column). */
  readonly readmeMeanings: boolean
  /** The HTTP status of a code, for the packages that answer HTTP. */
  readonly status?: (code: string) => number
}

const PACKAGES: readonly Package[] = [
  {
    name: 'core',
    dir: 'packages/core',
    union: 'CodegrantErrorCode',
    tsdocMeanings: true,
    readmeMeanings: true,
  },
  {
    name: 'express',
    // AuthError and its codes live in the engine, @codegrant/session; express documents them.
    dir: 'packages/session',
    readmeDir: 'packages/express',
    union: 'AuthErrorCode',
    tsdocMeanings: true,
    readmeMeanings: true,
    status: (code) => new AuthError(code as AuthErrorCode, 'x').status,
  },
  {
    name: 'resource-server',
    dir: 'packages/resource-server',
    union: 'ResourceServerErrorCode',
    tsdocMeanings: false,
    readmeMeanings: false,
    status: (code) => ERROR_TABLE[code as ResourceServerErrorCode].status,
  },
]

const CODE_ROW = /^\s*(?:\*\s*)?\|\s*`(ERR_[A-Z_]+)`\s*\|(.*)\|\s*$/

/** The rows of every Markdown table in `text` whose first cell is a code: code -> other cells. */
function tableRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const match = CODE_ROW.exec(line)
    if (match === null) continue
    const code = match[1]!
    expect(rows.has(code), `${code} is listed twice`).toBe(false)
    rows.set(
      code,
      match[2]!.split('|').map((cell) => cell.trim().replace(/\s+/g, ' ')),
    )
  }
  return rows
}

interface Declared {
  /** The members of the code union. */
  readonly codes: readonly string[]
  /** The codes that reach a constructor or a value of the union type outside `errors.ts`. */
  readonly used: ReadonlySet<string>
}

/**
 * Reads a package's code union with the TypeScript checker, and finds the code literals of its
 * source whose contextual type is that union (`new AuthError('ERR_X', ...)`, a ternary or a
 * variable of the union type): a comparison (`err.code === 'ERR_X'`) or a narrowing helper
 * (`isAuthError(err, 'ERR_X')`) does not count, nor does the error module itself.
 */
function declared(pkg: Package): Declared {
  const configPath = `${root}${pkg.dir}/tsconfig.json`
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`)
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  const checker = program.getTypeChecker()
  const errorsFile = program.getSourceFile(`${root}${pkg.dir}/src/errors.ts`)
  if (errorsFile === undefined) throw new Error(`${pkg.dir}/src/errors.ts not found`)
  const alias = errorsFile.statements.find(
    (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === pkg.union,
  )
  if (alias === undefined) throw new Error(`${pkg.union} not declared`)
  const unionType = checker.getTypeAtLocation(alias.name)
  const members = unionType.isUnion() ? unionType.types : [unionType]
  const codes = members.map((t) => (t.isStringLiteral() ? t.value : String(t)))

  const used = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) && /^ERR_[A-Z_]+$/.test(node.text)) {
      const contextual = checker.getContextualType(node)
      if (
        contextual !== undefined &&
        contextual.aliasSymbol?.name === pkg.union &&
        !inNarrowing(node)
      )
        used.add(node.text)
    }
    ts.forEachChild(node, visit)
  }
  for (const file of program.getSourceFiles()) {
    const path = file.fileName
    if (!path.startsWith(`${root}${pkg.dir}/src/`) || file === errorsFile) continue
    visit(file)
  }
  return { codes, used }
}

/** `isXError(value, 'ERR_X')`: a test for a code, not a use of it. */
function inNarrowing(node: ts.Node): boolean {
  let current: ts.Node = node
  while (
    ts.isConditionalExpression(current.parent) ||
    ts.isParenthesizedExpression(current.parent) ||
    ts.isAsExpression(current.parent)
  )
    current = current.parent
  const call = current.parent
  return (
    ts.isCallExpression(call) &&
    ts.isIdentifier(call.expression) &&
    /^is\w*Error$/.test(call.expression.text)
  )
}

const docs = tableRows(readFileSync(`${root}docs/error-codes.md`, 'utf8'))
const COLUMNS = ['core', 'express', 'resource-server'] as const
/** code -> { meaning, cells per package } from the first table of docs/error-codes.md. */
const table = new Map(
  [...docs].map(([code, cells]) => [
    code,
    {
      meaning: cells[0]!,
      cells: Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i + 1] ?? ''])),
    },
  ]),
)

describe('error codes (docs/error-codes.md)', () => {
  const found = new Map(PACKAGES.map((pkg) => [pkg.name, declared(pkg)]))

  it.each(PACKAGES)('$name: every declared code is thrown in src', (pkg) => {
    const { codes, used } = found.get(pkg.name)!
    expect(codes.length).toBeGreaterThan(5)
    expect(codes.filter((code) => !used.has(code))).toEqual([])
  })

  it.each(PACKAGES)('$name: the docs table lists exactly its codes, with its statuses', (pkg) => {
    const { codes } = found.get(pkg.name)!
    const listed = [...table].filter(([, row]) => row.cells[pkg.name] !== '').map(([code]) => code)
    expect([...listed].sort()).toEqual([...codes].sort())
    for (const code of codes) {
      const cell = table.get(code)!.cells[pkg.name]
      expect(cell, code).toBe(pkg.status === undefined ? 'yes' : String(pkg.status(code)))
    }
  })

  it('every row of the docs table names a code of some package and a meaning', () => {
    for (const [code, row] of table) {
      expect(row.meaning, code).not.toBe('')
      expect(
        COLUMNS.some((c) => row.cells[c] !== ''),
        code,
      ).toBe(true)
    }
  })

  it.each(PACKAGES.filter((pkg) => pkg.tsdocMeanings))(
    '$name: the TSDoc table of errors.ts gives each code the docs meaning',
    (pkg) => {
      const rows = tableRows(readFileSync(`${root}${pkg.dir}/src/errors.ts`, 'utf8'))
      const { codes } = found.get(pkg.name)!
      expect([...rows.keys()].sort()).toEqual([...codes].sort())
      for (const [code, cells] of rows) expect(cells.at(-1), code).toBe(table.get(code)?.meaning)
    },
  )

  it.each(PACKAGES)(
    '$name: the README error table lists exactly its codes and links the docs table',
    (pkg) => {
      const readme = readFileSync(`${root}${pkg.readmeDir ?? pkg.dir}/README.md`, 'utf8')
      expect(readme).toContain('](../../docs/error-codes.md)')
      const rows = tableRows(readme)
      const { codes } = found.get(pkg.name)!
      expect([...rows.keys()].sort()).toEqual([...codes].sort())
      for (const [code, cells] of rows) {
        if (pkg.status !== undefined && /^\d{3}$/.test(cells[0]!))
          expect(Number(cells[0]), code).toBe(pkg.status(code))
        // A shared code reads the same in every README: its row starts with the docs meaning.
        const shared = COLUMNS.filter((c) => table.get(code)?.cells[c] !== '').length > 1
        if (shared && pkg.readmeMeanings)
          expect(cells.at(-1), code).toMatch(startsWith(table.get(code)!.meaning))
      }
    },
  )
})

function startsWith(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)
}
