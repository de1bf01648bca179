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

/** Shared by the projects' setups (each project runs its own; they run in this one process). */
const shared = globalThis as typeof globalThis & { sinopiaPgRun?: { dir: Promise<string>; users: number } }

/**
 * vitest globalSetup: gives the whole run one folder for a throwaway PostgreSQL cluster, and
 * stops and removes it afterwards. The cluster itself is started lazily by the first test
 * file that asks for a database (postgres.ts), so a run without such tests starts none. Every
 * project of the run (the folder and the postgres one, see vitest.config.ts) gets the same
 * folder, so one cluster serves them all.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = (shared.sinopiaPgRun ??= { dir: mkdtemp(path.join(tmpdir(), 'sinopia-pg-run-')), users: 0 })
  run.users++
  const runDir = await run.dir
  project.provide('postgresRunDir', runDir)
  return async () => {
    if (--run.users > 0) return
    shared.sinopiaPgRun = undefined
    await stopCluster(runDir)
    await rm(runDir, { recursive: true, force: true })
  }
}
