#!/usr/bin/env node
// The integration tests run a real redis-server and drive a real Chromium; the interop suite
// (test/interop) starts Glewlwyd and LemonLDAP::NG from Debian's packages. This makes sure all are
// on the machine before any test starts: missing ones are installed from Debian's packages when we
// may (root with apt-get), otherwise we stop with the command that installs them.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const hasBin = (bin) =>
  spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
const hasPerl = (module) =>
  spawnSync('perl', [`-M${module}`, '-e', '1'], { stdio: 'ignore' }).status === 0
const needs = [
  { pkg: 'redis-server', has: () => hasBin('redis-server') },
  { pkg: 'chromium', has: () => hasBin('chromium') },
  // Glewlwyd, and sqlite3 to create its database from the package's schema.
  { pkg: 'glewlwyd', has: () => hasBin('glewlwyd') },
  { pkg: 'sqlite3', has: () => hasBin('sqlite3') },
  // LemonLDAP::NG's portal under plackup, with the modules it loads at start.
  { pkg: 'libplack-perl', has: () => hasBin('plackup') },
  { pkg: 'liblemonldap-ng-portal-perl', has: () => hasPerl('Lemonldap::NG::Portal::Main') },
  { pkg: 'libgd-securityimage-perl', has: () => hasPerl('GD::SecurityImage') },
  { pkg: 'libimage-magick-perl', has: () => hasPerl('Image::Magick') },
  { pkg: 'libstring-random-perl', has: () => hasPerl('String::Random') },
  { pkg: 'libio-string-perl', has: () => hasPerl('IO::String') },
]
const missing = needs.filter((n) => !n.has())
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
  `The tests need ${pkgs.join(', ')}. Install them first, e.g.:\n` +
    `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`,
)
process.exit(1)
