#!/usr/bin/env node
// Makes sure the machine has what the test suite drives for real (today Debian's chromium for
// the browser tests, never a downloaded browser, NSS's certutil for the https test, nginx
// as the load balancer of the scale-out test, and Debian's PostgreSQL server binaries for the
// PostgreSQL store's throwaway cluster). `npm test` runs this first, so the README's test command
// works as written on a fresh machine of this kind (Debian, run as root). Where installing
// is not possible it prints one line with the command to run and exits 1, rather than let a
// test fail half-way or be skipped in silence.
//
//   node scripts/test-setup.js [--check]     --check: report only, install nothing
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'

/** What the tests need: how to tell it is there, and the Debian package that brings it. */
const NEEDS = [
  { what: "Debian's chromium", package: 'chromium', present: () => onPath('chromium') },
  // certutil puts the https test's throw-away CA into a temp NSS database that chromium reads.
  { what: 'certutil (NSS tools)', package: 'libnss3-tools', present: () => onPath('certutil') },
  // The load-balancer test puts nginx in front of several `serve` processes (the bench uses it too).
  { what: "Debian's nginx", package: 'nginx-light', present: () => onPath('nginx') || existsSync('/usr/sbin/nginx') },
  // test/helpers/postgres-cluster.ts runs initdb and pg_ctl from /usr/lib/postgresql/<version>/bin.
  { what: 'PostgreSQL server (initdb)', package: 'postgresql', present: () => hasPostgresServer() },
]

function hasPostgresServer() {
  const base = '/usr/lib/postgresql'
  return existsSync(base) && readdirSync(base).some((version) => existsSync(path.join(base, version, 'bin', 'initdb')))
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

const missing = NEEDS.filter((need) => !need.present())
if (missing.length === 0) process.exit(0)

const packages = missing.map((need) => need.package)
const command = `apt-get update && apt-get install -y ${packages.join(' ')}`
const names = missing.map((need) => need.what).join(', ')
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
const canInstall = isRoot && onPath('apt-get') && !process.argv.includes('--check') && process.env.SINOPIA_TEST_NO_INSTALL !== '1'

if (!canInstall) {
  console.error(`test setup: ${names} missing; install with: ${isRoot ? '' : 'sudo '}${command}`)
  process.exit(1)
}

console.error(`test setup: installing ${names} (${packages.join(' ')}) from Debian's packages`)
try {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env })
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { stdio: ['ignore', 'ignore', 'inherit'], env })
} catch (error) {
  console.error(`test setup: could not install ${packages.join(' ')} (${error.message.split('\n')[0]}); run: ${command}`)
  process.exit(1)
}
const still = NEEDS.filter((need) => !need.present())
if (still.length > 0) {
  console.error(`test setup: still missing after the install: ${still.map((need) => need.what).join(', ')}`)
  process.exit(1)
}
