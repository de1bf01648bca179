import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { stopCluster } from './postgres-cluster.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where test/helpers/postgres.ts starts the run's one PostgreSQL cluster, on first use. */
    postgresRunDir: string
  }
}

/**
 * vitest globalSetup: gives the whole run one folder for a throwaway PostgreSQL cluster, and
 * stops and removes it afterwards. The cluster itself is started lazily by the first test
 * file that asks for a database (postgres.ts), so a run without such tests starts none.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'sinopia-pg-run-'))
  project.provide('postgresRunDir', runDir)
  return async () => {
    await stopCluster(runDir)
    await rm(runDir, { recursive: true, force: true })
  }
}
