import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import lockfile from 'proper-lockfile'

/**
 * A throwaway PostgreSQL cluster in a folder: Debian's server binaries (scripts/test-setup.js
 * installs them), initdb with trust auth, listening on 127.0.0.1 only, on a free port, with its
 * socket inside the folder. Run as the `postgres` user when we are root (the server refuses root).
 */

const run = promisify(execFile)

function binDir(): string {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(a) - Number(b)).pop()
  if (newest) return path.join(base, newest, 'bin')
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run `node scripts/test-setup.js`')
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** Runs a server binary, as the postgres user when we are root. */
function pgRun(bin: string, args: string[]): Promise<{ stdout: string }> {
  const file = path.join(binDir(), bin)
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args)
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const dataDir = (runDir: string) => path.join(runDir, 'cluster', 'data')
const portFile = (runDir: string) => path.join(runDir, 'cluster', 'port')

/** The port of the run's cluster, started by the first caller of any test process (a file lock orders them). */
export async function ensureCluster(runDir: string): Promise<number> {
  const release = await lockfile.lock(runDir, { lockfilePath: path.join(runDir, 'start.lock'), retries: { retries: 600, minTimeout: 50, maxTimeout: 100 }, stale: 60_000 })
  try {
    if (existsSync(portFile(runDir))) return Number(await readFile(portFile(runDir), 'utf8'))
    const cluster = path.join(runDir, 'cluster')
    await mkdir(cluster, { recursive: true })
    if (isRoot()) {
      // mkdtemp made the run folder 0700: the postgres user must be able to pass through it.
      await chmod(runDir, 0o755)
      await run('chown', ['-R', 'postgres:postgres', cluster])
    }
    await pgRun('initdb', ['-D', dataDir(runDir), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'])
    for (let attempt = 0; ; attempt++) {
      const port = await freePort()
      const options = `-p ${port} -k ${cluster} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`
      try {
        await pgRun('pg_ctl', ['-D', dataDir(runDir), '-l', path.join(cluster, 'log'), '-w', '-o', options, 'start'])
      } catch (error) {
        // Another process took the port between the probe and the start.
        if (attempt < 3) continue
        throw error
      }
      await writeFile(portFile(runDir), String(port))
      return port
    }
  } finally {
    await release()
  }
}

export async function stopCluster(runDir: string): Promise<void> {
  if (!existsSync(path.join(dataDir(runDir), 'postmaster.pid'))) return
  await pgRun('pg_ctl', ['-D', dataDir(runDir), '-m', 'fast', '-w', 'stop'])
}
