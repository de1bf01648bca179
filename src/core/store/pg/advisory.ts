import { createHash } from 'node:crypto'
import type pg from 'pg'
import { KeyChains } from '../../key-chains.js'

/**
 * A PostgreSQL advisory lock key for a name: the first 8 bytes of its sha256, as the signed
 * 64-bit integer pg_advisory_lock takes (a string, as node-postgres passes int8). Collisions
 * (2^-64 per pair) would only make two names wait for each other.
 */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(`sinopia:${name}`).digest().readBigInt64BE(0).toString()
}

/**
 * Locks by name, held in this process and across processes and hosts: calls in this process
 * queue in memory first (so a process holds at most one session per name), then a session
 * from `pool` takes pg_advisory_lock on the name's key and holds it while `fn` runs. The pool is
 * the lock holders' own: `fn` queries through the store's other pool, so holders waiting for
 * each other never starve the queries that would let them finish. The lock is released in
 * `finally`; a session that breaks is discarded, and the server drops its locks with it.
 */
export class AdvisoryLocks {
  private readonly chains = new KeyChains()

  constructor(private readonly pool: pg.Pool) {}

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.chains.run(name, async () => {
      const key = advisoryKey(name)
      const client = await this.pool.connect()
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key])
      } catch (error) {
        client.release(error as Error)
        throw error
      }
      try {
        return await fn()
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock($1)', [key])
          client.release()
        } catch (error) {
          // Destroying the session releases its locks on the server.
          client.release(error as Error)
        }
      }
    })
  }
}
