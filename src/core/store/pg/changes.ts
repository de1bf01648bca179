import { Readable } from 'node:stream'
import type pg from 'pg'
import type { Changes } from '../types.js'

/**
 * The database's change feed (see Packages.changesSince), kept by a trigger on
 * sinopia_documents (schema.ts, sinopia_package_changes): every write or removal of a served
 * document, by any statement of any instance, sets its package's row to the writing
 * transaction's id, in that transaction.
 *
 * A cursor is the oldest transaction still running when it was taken (the xmin of a snapshot):
 * a change not visible then was made by that transaction or a later one, whatever order they
 * commit in, so `xid >= cursor` finds it, where a plain sequence number would skip a write that
 * took its number before another but committed after. With no write in flight the cursor is the
 * next transaction id, so nothing is reported twice.
 */
export async function changeCursor(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ cursor: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS cursor')
  return (rows[0] as { cursor: string }).cursor
}

export async function changesSince(pool: pg.Pool, cursor: string): Promise<Changes> {
  if (!/^\d+$/.test(cursor)) return { names: null, cursor: await changeCursor(pool) }
  // One statement, so the names and the next cursor come from one snapshot.
  const { rows } = await pool.query<{ cursor: string; names: string[] }>(
    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS cursor,
            array(SELECT name FROM sinopia_package_changes WHERE xid >= $1::text::xid8) AS names`,
    [cursor],
  )
  const row = rows[0] as { cursor: string; names: string[] }
  return { names: row.names, cursor: row.cursor }
}

/** The snapshot is one row: written whole in one statement, so readers see the old or the new. */
export async function readSnapshot(pool: pg.Pool): Promise<AsyncIterable<Buffer> | null> {
  const { rows } = await pool.query<{ body: Buffer }>("SELECT body FROM sinopia_snapshots WHERE name = 'search'")
  const body = rows[0]?.body
  return body ? Readable.from([body]) : null
}

export async function writeSnapshot(pool: pg.Pool, chunks: Iterable<string>): Promise<void> {
  const body = Buffer.from([...chunks].join(''))
  await pool.query(
    `INSERT INTO sinopia_snapshots (name, body) VALUES ('search', $1)
     ON CONFLICT (name) DO UPDATE SET body = excluded.body`,
    [body],
  )
}
