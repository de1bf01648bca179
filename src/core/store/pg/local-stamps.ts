import type pg from 'pg'

/**
 * The stamp of every local document, in memory, so localStamp() (on every request) answers
 * without a query. Loaded on open (local documents are the few packages published here), kept
 * current by this instance's own writes and by the changes other instances announce (notify.ts).
 * Writes of one package happen under its lock, so the announcements of one package arrive in
 * the order of its writes.
 */
export class LocalStamps {
  private stamps = new Map<string, string>()
  /** Changes announced while a load runs: applied on top of what it read, which may predate them. */
  private pending: Array<[string, string | null]> | null = null

  get(name: string): string | null {
    return this.stamps.get(name) ?? null
  }

  set(name: string, stamp: string | null): void {
    this.pending?.push([name, stamp])
    if (stamp === null) this.stamps.delete(name)
    else this.stamps.set(name, stamp)
  }

  /** Reads them all again: on open, and after the listening session missed announcements. */
  async load(pool: pg.Pool): Promise<void> {
    this.pending = []
    try {
      const { rows } = await pool.query<{ name: string; stamp: string }>("SELECT name, stamp FROM sinopia_documents WHERE kind = 'local'")
      const changes = this.pending
      this.pending = null
      this.stamps = new Map(rows.map((row) => [row.name, row.stamp]))
      for (const [name, stamp] of changes) this.set(name, stamp)
    } finally {
      this.pending = null
    }
  }
}
