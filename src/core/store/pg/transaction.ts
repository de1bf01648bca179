import type pg from 'pg'
import { advisoryKey } from './advisory.js'

/** SQL for "now" from the database's clock: one clock for every instance, in ms since the epoch. */
export const NOW_MS = 'extract(epoch from clock_timestamp()) * 1000'

/**
 * Runs `fn` in one transaction on a session of `pool`, committed when it returns and rolled
 * back when it throws. With `lock`, the transaction first takes that name's advisory lock
 * (pg_advisory_xact_lock, released by the commit or rollback), so read-modify-writes of one
 * thing by any number of instances take turns.
 */
export async function transaction<T>(pool: pg.Pool, lock: string | null, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    if (lock !== null) await client.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey(lock)])
    const result = await fn(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (error) {
    // A session whose rollback fails is broken: it is discarded, not reused.
    await client.query('ROLLBACK').then(
      () => client.release(),
      (rollback: Error) => client.release(rollback),
    )
    throw error
  }
}
