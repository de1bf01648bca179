import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import lockfile from 'proper-lockfile'
import { startCluster, stopCluster as stopClusterIn } from '../../scripts/bench/postgres.js'

/**
 * The run's one throwaway PostgreSQL cluster (scripts/bench/postgres.js starts it, the bench
 * uses the same), in `<runDir>/cluster`, shared by every test process of the run.
 */

const clusterDir = (runDir: string) => path.join(runDir, 'cluster')
const portFile = (runDir: string) => path.join(runDir, 'cluster', 'port')

/** The port of the run's cluster, started by the first caller of any test process (a file lock orders them). */
export async function ensureCluster(runDir: string): Promise<number> {
  const release = await lockfile.lock(runDir, { lockfilePath: path.join(runDir, 'start.lock'), retries: { retries: 600, minTimeout: 50, maxTimeout: 100 }, stale: 60_000 })
  try {
    if (existsSync(portFile(runDir))) return Number(await readFile(portFile(runDir), 'utf8'))
    const port = await startCluster(clusterDir(runDir))
    await writeFile(portFile(runDir), String(port))
    return port
  } finally {
    await release()
  }
}

export async function stopCluster(runDir: string): Promise<void> {
  await stopClusterIn(clusterDir(runDir))
}
