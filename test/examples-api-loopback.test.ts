// Regression: the contract accepts plain-http issuers for localhost, 127.0.0.1 and ::1 only;
// examples/api also took *.localhost and all of 127.0.0.0/8.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const entry = fileURLToPath(new URL('../examples/api/dist/index.js', import.meta.url))

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', AUDIENCE: 'urn:codegrant:api', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

describe('examples/api ISSUER_URL over plain http', () => {
  it.each(['http://evil.localhost:9', 'http://127.0.0.2:9'])(
    'stops at start with one line naming ISSUER_URL for %s',
    async (issuer) => {
      const result = await run({ ISSUER_URL: issuer })
      expect(result.code).not.toBe(0)
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('ISSUER_URL')
    },
  )
})
