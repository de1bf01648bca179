import pg from 'pg'
import { advisoryKey } from './advisory.js'

/** Announced when a process ends its fetch turn on a package; payload: the package's name. */
export const FETCH_CHANNEL = 'sinopia_fetch_done'

/**
 * A waiter asks again after this, doubling up to POLL_MAX_MS: the announcement of a turn's end
 * normally wakes it first; asking again finds a holder that died (it announces nothing) or an
 * announcement the listening session missed.
 */
const POLL_FIRST_MS = 50
const POLL_MAX_MS = 1_000
/** A query on the turn session that takes longer is taken as a broken session (dropped, then the fetch runs without a turn). */
const QUERY_TIMEOUT_MS = 5_000

interface Session {
  client: pg.Client
  ready: Promise<void>
  /** Queries in flight: the socket keeps the process alive only while there are some. */
  busy: number
}

/**
 * Fetch turns (Packages.withFetchTurn) across processes and hosts: a session-level advisory lock
 * per package (key `fetch:<name>`), all of this process's on one session of their own, taken
 * only with pg_try_advisory_lock: that session never blocks, and no pooled session ever waits
 * for a turn, so waiters cannot starve the pools a holder needs to store what it fetched.
 * A waiter sleeps until the holder announces the end of its turn (FETCH_CHANNEL, heard by the
 * store's listening session: see ended()) or its next poll, for at most `waitMs`, then runs
 * without a turn. A holder that dies drops its session and the server drops its locks with it.
 * Every failure of this session means "no turn": the fetch runs as it would without one.
 */
export class FetchTurns {
  private session: Session | null = null
  private readonly waiters = new Map<string, Set<() => void>>()
  private closed = false

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onError: (error: Error) => void,
  ) {}

  async run<T>(name: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
    const key = advisoryKey(`fetch:${name}`)
    let held: Session | null = null
    try {
      held = await this.take(name, key, waitMs)
    } catch (error) {
      this.onError(error as Error)
    }
    try {
      return await fn()
    } finally {
      if (held) await this.give(held, name, key)
    }
  }

  /** Another process ended its turn on `name` (null: announcements may have been missed): its waiters here ask again. */
  ended(name: string | null): void {
    const sets = name === null ? [...this.waiters.values()] : [this.waiters.get(name)]
    for (const set of sets) for (const wake of set ?? []) wake()
  }

  async close(): Promise<void> {
    this.closed = true
    const session = this.session
    this.session = null
    this.ended(null)
    await session?.client.end().catch(() => undefined)
  }

  /** The session holding the turn, or null when `waitMs` ran out first. */
  private async take(name: string, key: string, waitMs: number): Promise<Session | null> {
    const until = performance.now() + waitMs
    let delay = POLL_FIRST_MS
    for (;;) {
      // Listening before asking: an end announced between the two still wakes this waiter.
      const wake = this.listen(name)
      try {
        const session = await this.connected()
        const { rows } = await this.query<{ got: boolean }>(session, 'SELECT pg_try_advisory_lock($1) AS got', [key])
        if (rows[0]?.got) return session
        const left = until - performance.now()
        if (left <= 0) return null
        await wake.wait(Math.min(delay, left))
        delay = Math.min(delay * 2, POLL_MAX_MS)
      } finally {
        wake.stop()
      }
    }
  }

  /** Ends the turn and announces it (delivered once the unlock committed). A session gone meanwhile took the lock with it. */
  private async give(session: Session, name: string, key: string): Promise<void> {
    if (this.session !== session) return
    try {
      await this.query(session, `SELECT pg_advisory_unlock($1), pg_notify('${FETCH_CHANNEL}', $2)`, [key, name])
    } catch (error) {
      this.onError(error as Error)
    }
  }

  private listen(name: string): { wait(ms: number): Promise<void>; stop(): void } {
    let wake = () => undefined as void
    const woken = new Promise<void>((resolve) => (wake = resolve))
    const set = this.waiters.get(name) ?? new Set<() => void>()
    set.add(wake)
    this.waiters.set(name, set)
    let timer: NodeJS.Timeout | undefined
    return {
      wait: (ms) => Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]),
      stop: () => {
        clearTimeout(timer)
        set.delete(wake)
        if (set.size === 0 && this.waiters.get(name) === set) this.waiters.delete(name)
      },
    }
  }

  private async connected(): Promise<Session> {
    if (this.closed) throw new Error('the store is closed')
    if (!this.session) {
      const client = new pg.Client({ ...this.config, query_timeout: QUERY_TIMEOUT_MS })
      const session: Session = { client, ready: client.connect().then(() => undefined), busy: 0 }
      client.on('error', (error) => this.drop(session, error))
      this.session = session
      session.ready.then(
        () => unref(client),
        // run() reports it: the turn that was waiting for this session goes without.
        () => this.drop(session, null),
      )
    }
    const session = this.session
    await session.ready
    return session
  }

  private async query<R extends pg.QueryResultRow>(session: Session, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (session.busy++ === 0) ref(session.client)
    try {
      return await session.client.query<R>(text, values)
    } catch (error) {
      // Reported by the caller.
      this.drop(session, null)
      throw error
    } finally {
      if (--session.busy === 0) unref(session.client)
    }
  }

  /**
   * A session that failed once is not trusted again: ended (the server drops its locks), and the
   * next turn connects anew. `error`: what broke an idle session, which no caller reports.
   */
  private drop(session: Session, error: Error | null): void {
    if (this.session !== session) return
    this.session = null
    if (error && !this.closed) this.onError(error)
    void session.client.end().catch(() => undefined)
  }
}

/** An idle session does not keep the process alive (as the pools' allowExitOnIdle); one with a query in flight does. */
type Refable = pg.Client & { ref(): void; unref(): void }
const ref = (client: pg.Client) => (client as Refable).ref()
const unref = (client: pg.Client) => (client as Refable).unref()
