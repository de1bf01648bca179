import type pg from 'pg'
import type { Usage } from '../documents.js'
import type { UsageRecords } from '../types.js'
import { transaction } from './transaction.js'

/** sinopia_usage: when each blob key was last served (ms since the epoch). */
export class PgUsage implements UsageRecords {
  constructor(
    private readonly pool: pg.Pool,
    private readonly root: string,
  ) {}

  where(): string {
    return `${this.root}#usage`
  }

  read(): Promise<Usage> {
    return readUsage(this.pool)
  }

  /** In a transaction holding the 'usage' advisory lock; only what `change` changed is written. */
  async update(change: (usage: Usage) => void): Promise<void> {
    await transaction(this.pool, 'usage', async (client) => {
      const before = await readUsage(client)
      const after = new Map(before)
      change(after)
      const gone = [...before.keys()].filter((key) => !after.has(key))
      const changed = [...after].filter(([key, at]) => before.get(key) !== at)
      if (gone.length > 0) await client.query('DELETE FROM sinopia_usage WHERE key = ANY($1::text[])', [gone])
      if (changed.length > 0) {
        await client.query(
          `INSERT INTO sinopia_usage (key, last_use_ms) SELECT * FROM unnest($1::text[], $2::float8[])
           ON CONFLICT (key) DO UPDATE SET last_use_ms = excluded.last_use_ms`,
          [changed.map(([key]) => key), changed.map(([, at]) => at)],
        )
      }
    })
  }

  async clear(): Promise<void> {
    await transaction(this.pool, 'usage', (client) => client.query('DELETE FROM sinopia_usage'))
  }
}

async function readUsage(db: pg.Pool | pg.ClientBase): Promise<Usage> {
  const { rows } = await db.query<{ key: string; last_use_ms: number }>('SELECT key, last_use_ms FROM sinopia_usage')
  return new Map(rows.map((row) => [row.key, row.last_use_ms]))
}
