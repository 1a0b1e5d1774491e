#!/usr/bin/env node
// The integration tests run a real redis-server and drive a real Chromium. This makes sure both
// are on the machine before any test starts: missing ones are installed from Debian's packages
// when we may (root with apt-get), otherwise we stop with the command that installs them.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const needs = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'chromium', pkg: 'chromium' },
]
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
const missing = needs.filter((n) => !has(n.bin))
if (missing.length === 0) process.exit(0)

const pkgs = missing.map((n) => n.pkg)
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && existsSync('/usr/bin/apt-get')) {
  console.log(`Installing ${pkgs.join(', ')} from Debian's packages for the integration tests...`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  })
  process.exit(0)
}
console.error(
  `The tests need ${pkgs.join(' and ')}. Install them first, e.g.:\n` +
    `  sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`,
)
process.exit(1)
