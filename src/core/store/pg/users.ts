import type pg from 'pg'
import type { UserRecord } from '../documents.js'
import type { UserRecords } from '../types.js'
import { NOW_MS, transaction } from './transaction.js'

/**
 * sinopia_users: one row per user. A change bumps the 'users' row of sinopia_versions in the
 * same transaction, so read() (on every authenticated request) costs one small query while
 * nothing changed, and sees any instance's change at once.
 */
export class PgUsers implements UserRecords {
  private cached: { version: string; byName: ReadonlyMap<string, UserRecord> } | null = null

  constructor(
    private readonly pool: pg.Pool,
    private readonly root: string,
  ) {}

  async read(): Promise<ReadonlyMap<string, UserRecord>> {
    const { rows } = await this.pool.query<{ version: string }>("SELECT version FROM sinopia_versions WHERE name = 'users'")
    const version = rows[0]?.version ?? '0'
    if (this.cached?.version === version) return this.cached.byName
    // Read after the version: a change in between is read now and read again next time, never missed.
    const { rows: users } = await this.pool.query<UserRecord>('SELECT name, hash FROM sinopia_users ORDER BY created_ms, name')
    const byName = new Map(users.map(({ name, hash }) => [name, { name, hash }]))
    this.cached = { version, byName }
    return byName
  }

  async add(record: UserRecord, limit = Infinity): Promise<'added' | 'exists' | 'full'> {
    // The lock orders adds, so the count below holds until the commit (max_users is exact);
    // the primary key alone would already refuse a second row of one name.
    return transaction(this.pool, 'users', async (client) => {
      if (Number.isFinite(limit)) {
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM sinopia_users')
        const taken = await client.query('SELECT 1 FROM sinopia_users WHERE name = $1', [record.name])
        if (taken.rowCount === 0 && (rows[0]?.n ?? 0) >= limit) return 'full'
      }
      const inserted = await client.query(`INSERT INTO sinopia_users (name, hash, created_ms) VALUES ($1, $2, ${NOW_MS}) ON CONFLICT (name) DO NOTHING`, [record.name, record.hash])
      if (inserted.rowCount === 0) return 'exists'
      await bump(client)
      return 'added'
    })
  }

  async setHash(name: string, hash: string): Promise<boolean> {
    return this.change('UPDATE sinopia_users SET hash = $2 WHERE name = $1', [name, hash])
  }

  async remove(name: string): Promise<boolean> {
    return this.change('DELETE FROM sinopia_users WHERE name = $1', [name])
  }

  where(): string {
    return `${this.root} (table sinopia_users)`
  }

  private change(sql: string, values: unknown[]): Promise<boolean> {
    return transaction(this.pool, null, async (client) => {
      const result = await client.query(sql, values)
      if (result.rowCount === 0) return false
      await bump(client)
      return true
    })
  }
}

const bump = (client: pg.ClientBase) => client.query("UPDATE sinopia_versions SET version = version + 1 WHERE name = 'users'")
