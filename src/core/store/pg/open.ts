import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { SinopiaError } from '../../errors.js'
import { removeStaleTemp } from '../fs/open.js'
import { redactLocation } from '../location.js'
import type { Store } from '../types.js'
import { AdvisoryLocks } from './advisory.js'
import { BlobCache } from './blob-cache.js'
import { PgBlobs } from './blobs.js'
import { LocalStamps } from './local-stamps.js'
import { FETCH_CHANNEL, FetchTurns } from './fetch-turns.js'
import { ChangeFeed, ChangeListener } from './notify.js'
import { PgPackages } from './packages.js'
import { PgQuarantine } from './quarantine.js'
import { migrate } from './schema.js'
import { PgTokens } from './tokens.js'
import { PgUsage } from './usage.js'
import { PgUsers } from './users.js'

export interface PgStoreOptions {
  /**
   * This instance's disk copy of blobs (blob-cache.ts). Default: <os.tmpdir()>/sinopia-blob-cache-<hash>,
   * the hash of the database URL without its password: one folder per database, kept across
   * restarts, on a local disk, and free to be cleaned by the system (it is only a copy).
   */
  blobCache?: string
  /** What the disk copy of blobs may take before the least recently used go (default BLOB_DISK_CACHE_BYTES, cache-bounds.ts). */
  blobCacheBytes?: number
  /** What goes wrong in the background (the change listener's session breaking); ignored when not given. */
  onWarning?: (message: string) => void
}

export interface PgStore extends Store {
  blobs: PgBlobs
  packages: PgPackages
  tokens: PgTokens
  users: PgUsers
  usage: PgUsage
  quarantine: PgQuarantine
}

/** Sessions for queries; lock holders have a pool of their own (see advisory.ts). */
const QUERY_SESSIONS = 10
const LOCK_SESSIONS = 10

/**
 * Opens the store kept in the PostgreSQL database at `url` (postgres:// or postgresql://),
 * creating or migrating its tables (schema.ts). `root` and every message carry the URL without
 * its password. Idle sessions do not keep the process alive (allowExitOnIdle); close() ends them.
 */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
  const root = redactLocation(url)
  const config = { connectionString: url, connectionTimeoutMillis: 10_000, allowExitOnIdle: true }
  const pool = new pg.Pool({ ...config, max: QUERY_SESSIONS })
  // A lock held by a host that died goes when the server notices the session is gone: ask it to
  // probe idle lock sessions (10 s, then 3 probes 5 s apart) rather than wait for the system's
  // TCP timeout (hours). Options given in the URL win.
  const keepalives = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3'
  const lockPool = new pg.Pool({ ...config, max: LOCK_SESSIONS, options: keepalives })
  const warn = options.onWarning ?? (() => undefined)
  // An idle session that breaks (the server restarts) is dropped by the pool; without a listener it would crash the process.
  pool.on('error', (error) => warn(`database session broke: ${error.message}`))
  lockPool.on('error', (error) => warn(`database lock session broke: ${error.message}`))
  const stamps = new LocalStamps()
  // Fetch turns are held across uplink requests: the same keepalives as the lock holders.
  const turns = new FetchTurns({ connectionString: url, connectionTimeoutMillis: 10_000, keepAlive: true, options: keepalives }, (error) =>
    warn(`fetch turns on ${root}: ${error.message}; fetching without one`),
  )
  const feed = new ChangeFeed()
  const listener = new ChangeListener(
    { connectionString: url, connectionTimeoutMillis: 10_000 },
    (change) => {
      if (change.kind === 'local') stamps.set(change.name, change.stamp)
      feed.heard(change)
    },
    async () => {
      await stamps.load(pool)
      feed.heard(null)
      turns.ended(null)
    },
    (error) => warn(`listening for changes on ${root}: ${error.message}; connecting again`),
    { [FETCH_CHANNEL]: (name) => turns.ended(name) },
  )
  try {
    const client = await pool.connect()
    try {
      await migrate(client, root)
    } finally {
      client.release()
    }
    // Listen first, then load: a change made in between is heard, not missed.
    await listener.start()
    await stamps.load(pool)
  } catch (error) {
    await Promise.all([listener.close(), pool.end(), lockPool.end()]).catch(() => undefined)
    if (error instanceof SinopiaError) throw error
    throw new SinopiaError('ESTORAGE', `cannot open the database ${root}: ${(error as Error).message}`, {
      hint: 'check the `storage` URL (or SINOPIA_STORAGE, --storage), that the database exists and takes connections, and the user may create tables in it',
      cause: error,
    })
  }
  const cache = new BlobCache(options.blobCache ?? defaultBlobCache(root), options.blobCacheBytes)
  await mkdir(cache.dir, { recursive: true })
  await removeStaleTemp(cache.tmpDir)
  await cache.load()
  const locks = new AdvisoryLocks(lockPool)
  const quarantine = new PgQuarantine(pool, root, stamps, feed)
  let closed: Promise<void> | null = null
  return {
    root,
    blobs: new PgBlobs(pool, root, cache, quarantine),
    packages: new PgPackages(pool, root, locks, stamps, feed, turns),
    tokens: new PgTokens(pool),
    users: new PgUsers(pool, root),
    usage: new PgUsage(pool, root),
    quarantine,
    probe: () => probe(pool),
    // Once: a second call waits for the first (pg's Pool.end refuses to run twice).
    close: () => (closed ??= Promise.all([listener.close(), turns.close()]).then(async () => void (await Promise.all([pool.end(), lockPool.end()])))),
  }
}

/** See PgStoreOptions.blobCache; `root` is the URL without its password. */
export function defaultBlobCache(root: string): string {
  return path.join(os.tmpdir(), `sinopia-blob-cache-${createHash('sha256').update(root).digest('hex').slice(0, 16)}`)
}

/**
 * A write the database must accept, rolled back: fails when it is unreachable, read-only (a
 * standby, default_transaction_read_only) or full, and leaves nothing behind.
 */
async function probe(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    try {
      await client.query('INSERT INTO sinopia_probe (at) VALUES (now())')
    } finally {
      await client.query('ROLLBACK')
    }
    client.release()
  } catch (error) {
    client.release(error as Error)
    throw error
  }
}
