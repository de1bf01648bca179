import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { ensureCluster } from './postgres-cluster.js'

/**
 * A fresh, empty database on the run's one throwaway PostgreSQL cluster (started on first use
 * by postgres-cluster.ts, stopped by postgres-global.ts after the run). Returns its URL.
 */
export async function freshDatabase(): Promise<string> {
  const port = await ensureCluster(inject('postgresRunDir'))
  const name = `sinopia_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return `postgresql://postgres@127.0.0.1:${port}/${name}`
}
