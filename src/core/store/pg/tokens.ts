import type pg from 'pg'
import type { TokenRecord } from '../documents.js'
import type { TokenRecords } from '../types.js'
import { transaction } from './transaction.js'

/**
 * sinopia_tokens: one row per token record. A change bumps the 'tokens' row of
 * sinopia_versions in the same transaction, so read() (on every authenticated request) costs
 * one small query while nothing changed, and sees any instance's change at once.
 */
export class PgTokens implements TokenRecords {
  private cached: { version: string; byKey: ReadonlyMap<string, TokenRecord> } | null = null

  constructor(private readonly pool: pg.Pool) {}

  async read(): Promise<ReadonlyMap<string, TokenRecord>> {
    const { rows } = await this.pool.query<{ version: string }>("SELECT version FROM sinopia_versions WHERE name = 'tokens'")
    const version = rows[0]?.version ?? '0'
    if (this.cached?.version === version) return this.cached.byKey
    // Read after the version: a change in between is read now and read again next time, never missed.
    const byKey = byKeyOf(await this.records(this.pool))
    this.cached = { version, byKey }
    return byKey
  }

  async modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void> {
    await transaction(this.pool, 'tokens', async (client) => {
      const next = [...byKeyOf(change(await this.records(client))).values()]
      await client.query('DELETE FROM sinopia_tokens')
      await client.query("INSERT INTO sinopia_tokens (key, record) SELECT r->>'key', r FROM json_array_elements($1::json) AS r", [JSON.stringify(next)])
      await client.query("UPDATE sinopia_versions SET version = version + 1 WHERE name = 'tokens'")
    })
  }

  private async records(db: pg.Pool | pg.ClientBase): Promise<TokenRecord[]> {
    const { rows } = await db.query<{ record: TokenRecord }>('SELECT record FROM sinopia_tokens ORDER BY key')
    return rows.map((row) => row.record)
  }
}

const byKeyOf = (records: TokenRecord[]) => new Map(records.map((r) => [r.key, r]))
