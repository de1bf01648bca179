import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

/**
 * A throwaway PostgreSQL cluster in a folder, for the tests (test/helpers/postgres-cluster.ts)
 * and the bench (--backend postgres): Debian's server binaries (scripts/test-setup.js installs
 * them), initdb with trust auth, listening on 127.0.0.1 only, on a free port, with its socket
 * inside the folder. Run as the `postgres` user when we are root (the server refuses root).
 */

const run = promisify(execFile)

function binDir() {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(a) - Number(b)).pop()
  if (newest) return path.join(base, newest, 'bin')
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run `node scripts/test-setup.js`')
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** Runs a server binary, as the postgres user when we are root. */
function pgRun(bin, args) {
  const file = path.join(binDir(), bin)
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args)
}

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

const dataDir = (cluster) => path.join(cluster, 'data')

/**
 * Creates the cluster in the folder `cluster` (which must not exist yet) and starts it.
 * Resolves its port; stopCluster(cluster) stops it.
 */
export async function startCluster(cluster) {
  await mkdir(cluster, { recursive: true })
  if (isRoot()) {
    // mkdtemp makes folders 0700: the postgres user must be able to pass through the parent.
    await chmod(path.dirname(cluster), 0o755)
    await run('chown', ['-R', 'postgres:postgres', cluster])
  }
  await pgRun('initdb', ['-D', dataDir(cluster), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'])
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const options = `-p ${port} -k ${cluster} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`
    try {
      await pgRun('pg_ctl', ['-D', dataDir(cluster), '-l', path.join(cluster, 'log'), '-w', '-o', options, 'start'])
      return port
    } catch (error) {
      // Another process took the port between the probe and the start.
      if (attempt >= 3) throw error
    }
  }
}

/** Stops the cluster in `cluster` (fast shutdown), if it runs. */
export async function stopCluster(cluster) {
  if (!existsSync(path.join(dataDir(cluster), 'postmaster.pid'))) return
  await pgRun('pg_ctl', ['-D', dataDir(cluster), '-m', 'fast', '-w', 'stop'])
}

/** Creates the database `name` on the cluster at `port` and returns its URL. */
export async function createDatabase(port, name) {
  const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return `postgresql://postgres@127.0.0.1:${port}/${name}`
}
