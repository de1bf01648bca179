import type pg from 'pg'
import type { DocumentKind } from '../documents.js'
import type { Quarantine } from '../types.js'
import type { LocalStamps } from './local-stamps.js'
import { notifySql } from './notify.js'
import { NOW_MS } from './transaction.js'

/**
 * sinopia_quarantine (schema.ts): a bad document's row moves there with its bytes; bad blob
 * content moves its content row there, and its chunks stay where they are, now reached only
 * through the quarantine row. Each move is one statement: the thing is in one place or the other.
 */
export class PgQuarantine implements Quarantine {
  constructor(
    private readonly pool: pg.Pool,
    private readonly root: string,
    private readonly localStamps: LocalStamps,
  ) {}

  async blob(sha512Integrity: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH moved AS (DELETE FROM sinopia_blob_content WHERE integrity = $1 RETURNING integrity, id, size)
       INSERT INTO sinopia_quarantine (kind, name, content_id, size, moved_ms) SELECT 'blob', integrity, id, size, ${NOW_MS} FROM moved
       RETURNING id`,
      [sha512Integrity],
    )
    return rows[0] ? this.location(rows[0].id, 'blob', sha512Integrity) : null
  }

  async document(name: string, kind: DocumentKind): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH moved AS (DELETE FROM sinopia_documents WHERE name = $1 AND kind = $2 RETURNING name, kind, body),
       kept AS (INSERT INTO sinopia_quarantine (kind, name, body, moved_ms) SELECT kind, name, body, ${NOW_MS} FROM moved RETURNING id, kind)
       SELECT id, CASE WHEN kind IN ('upstream', 'local') THEN ${notifySql('$1::text', 'kind', 'NULL::text')} END FROM kept`,
      [name, kind],
    )
    if (!rows[0]) return null
    if (kind === 'local') this.localStamps.set(name, null)
    return this.location(rows[0].id, kind, name)
  }

  async list(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string; kind: string; name: string }>('SELECT id, kind, name FROM sinopia_quarantine ORDER BY id')
    return rows.map((row) => this.location(row.id, row.kind, row.name))
  }

  /** The id is zero-padded, so the locations sort as they were moved. */
  private location(id: string, kind: string, name: string): string {
    return `${this.root}#quarantine/${id.padStart(12, '0')} (${kind} ${name})`
  }
}
