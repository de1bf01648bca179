import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { createDatabase } from '../../scripts/bench/postgres.js'
import { ensureCluster } from './postgres-cluster.js'

/**
 * A fresh, empty database on the run's one throwaway PostgreSQL cluster (started on first use
 * by postgres-cluster.ts, stopped by postgres-global.ts after the run). Returns its URL.
 */
export async function freshDatabase(): Promise<string> {
  const port = await ensureCluster(inject('postgresRunDir'))
  return createDatabase(port, `sinopia_test_${randomBytes(6).toString('hex')}`)
}
