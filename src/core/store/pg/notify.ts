import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { DocumentKind } from '../documents.js'

/**
 * Changes announced to every instance on the database: one NOTIFY on `sinopia_changes` per
 * write or removal of a served document (upstream, local), sent by the statement that makes
 * it, so PostgreSQL delivers it exactly when the change commits, in commit order.
 * Payload: {"name": <package>, "kind": "upstream" | "local", "stamp": <new stamp> | null (removed),
 * "by": <the writing handle's id>}.
 */
export const CHANNEL = 'sinopia_changes'

export interface Change {
  name: string
  kind: DocumentKind
  stamp: string | null
  /** The id of the store handle that made it. */
  by: string | null
}

/** SQL that announces a change; `name`, `kind` and `stamp` are SQL expressions, `by` the announcing handle's id (see ChangeFeed). */
const notifySql = (name: string, kind: string, stamp: string, by: string) =>
  `pg_notify('${CHANNEL}', json_build_object('name', ${name}, 'kind', ${kind}, 'stamp', ${stamp}, 'by', '${by}')::text)`

export function parseChange(payload: string | undefined): Change | null {
  try {
    const change = JSON.parse(payload ?? '') as Partial<Change>
    if (typeof change.name !== 'string' || typeof change.kind !== 'string') return null
    const stamp = change.stamp === null || change.stamp === undefined ? null : String(change.stamp)
    return { name: change.name, kind: change.kind, stamp, by: typeof change.by === 'string' ? change.by : null }
  } catch {
    return null
  }
}

/** How long to wait before connecting again after the listening session broke. */
const RECONNECT_MS = 1_000

/**
 * One session that LISTENs on the channel (and on those of `others`, each with its handler of
 * the payload) for the life of the store. When it breaks it connects again, and then calls
 * `resync`: changes sent while it was away were lost, so what they would have updated must be read again. The session does not keep the process alive
 * (unref): a command that forgets to close the store still exits.
 */
export class ChangeListener {
  private client: pg.Client | null = null
  private closed = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onChange: (change: Change) => void,
    private readonly resync: () => Promise<void>,
    private readonly onError: (error: Error) => void,
    private readonly others: Record<string, (payload: string) => void> = {},
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client(this.config)
    client.on('notification', (message) => {
      const change = message.channel === CHANNEL ? parseChange(message.payload) : null
      if (change) this.onChange(change)
      else if (message.channel !== CHANNEL) this.others[message.channel]?.(message.payload ?? '')
    })
    client.on('error', (error) => this.broken(client, error))
    client.on('end', () => this.broken(client, new Error('the listening session ended')))
    await client.connect()
    await client.query(`LISTEN ${CHANNEL}`)
    for (const channel of Object.keys(this.others)) await client.query(`LISTEN ${channel}`)
    ;(client as pg.Client & { unref(): void }).unref()
    if (this.closed) {
      await client.end()
      return
    }
    this.client = client
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    const client = this.client
    this.client = null
    await client?.end().catch(() => undefined)
  }

  private broken(client: pg.Client, error: Error): void {
    if (this.closed || this.client !== client) return
    this.client = null
    this.onError(error)
    void client.end().catch(() => undefined)
    this.schedule()
  }

  private schedule(): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.start().then(
        () => this.resync(),
        (error: unknown) => {
          this.onError(error as Error)
          this.schedule()
        },
      ).catch((error: unknown) => this.onError(error as Error))
    }, RECONNECT_MS)
    this.timer.unref()
  }
}

/**
 * What Packages.watch reports: the announcements of changes made through other handles (other
 * processes, other hosts), without those of this handle's own writes, which its caller already
 * knows about: each announcement names the handle that made it (`by`, this feed's random id).
 * `null`: announcements may have been missed (the listening session broke), so anything may
 * have changed.
 */
export class ChangeFeed {
  readonly id = randomBytes(12).toString('hex')
  private readonly listeners = new Set<(name: string | null) => void>()

  watch(listener: (name: string | null) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  /** SQL that announces a change made through this handle (arguments as notifySql's). */
  announce(name: string, kind: string, stamp: string): string {
    return notifySql(name, kind, stamp, this.id)
  }

  heard(change: Change | null): void {
    if (change && change.by === this.id) return
    for (const listener of this.listeners) listener(change?.name ?? null)
  }
}
