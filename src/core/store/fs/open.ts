import { mkdir, readFile, readdir, rm, stat, access, constants } from 'node:fs/promises'
import path from 'node:path'
import { SinopiaError, errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { KeyedLock } from '../../fs/lock.js'
import { statOrNull } from '../../fs/stat.js'
import type { UserRecord } from '../documents.js'
import { FsTotals } from './totals.js'
import type { Store } from '../types.js'
import { BlobStore } from './blobs.js'
import { FsEntries } from './entries.js'
import { ChangeJournal } from './journal.js'
import { STORE_FORMAT, blobsDir, formatFile, formatLock, formatOneIndexDir, journalFile, packagesDir, quarantineDir, tokensFile, usersFile } from './layout.js'
import { PackageStore } from './packages.js'
import { probeWritable } from './probe.js'
import { FsQuarantine } from './quarantine.js'
import { FsTokens } from './tokens.js'
import { UPGRADING, removeFormatOneIndex, upgradeFromFormatOne } from './upgrade.js'
import { FsUsage } from './usage.js'
import { FileUserRecords, jsonUsers } from './users.js'

/** The store kept in a storage folder (layout.ts). */
export interface FsStore extends Store {
  blobs: BlobStore
  packages: PackageStore
  tokens: FsTokens
  users: FileUserRecords<UserRecord>
  usage: FsUsage
  quarantine: FsQuarantine
  /** One lock table per process, for every file the store guards. */
  lock: KeyedLock
}

/** Temp files of downloads that a killed process left behind are removed after this long. */
const STALE_TMP_MS = 60 * 60 * 1000

/**
 * Opens (creating on first use) the storage folder, upgrading one of format 1 first (upgrade.ts).
 * Refuses a folder written in another format, and one this process cannot write, with an error
 * that says so.
 */
export async function openFsStore(root: string): Promise<FsStore> {
  const absolute = path.resolve(root)
  try {
    await mkdir(absolute, { recursive: true })
    await access(absolute, constants.W_OK)
  } catch (error) {
    throw new SinopiaError('ESTORAGE', `storage folder ${absolute} is not writable (${errnoCode(error) ?? String(error)})`, {
      hint: 'check the `storage` key of the config file and the folder permissions',
      cause: error,
    })
  }
  const lock = new KeyedLock()
  await checkFormat(absolute, lock)
  await mkdir(packagesDir(absolute), { recursive: true })
  await mkdir(blobsDir(absolute), { recursive: true })
  await removeStaleTemp(path.join(blobsDir(absolute), 'tmp'))
  const journal = new ChangeJournal(journalFile(absolute), lock)
  const quarantine = new FsQuarantine(absolute, quarantineDir(absolute), journal)
  const totals = new FsTotals(blobsDir(absolute), lock)
  await totals.startIfEmpty()
  const blobs = new BlobStore(blobsDir(absolute), new FsEntries(blobsDir(absolute), lock), quarantine, totals)
  return {
    root: absolute,
    blobs,
    packages: new PackageStore(absolute, lock, journal),
    tokens: new FsTokens(tokensFile(absolute), lock),
    users: new FileUserRecords(usersFile(absolute), jsonUsers(usersFile(absolute)), lock),
    usage: new FsUsage(absolute, lock),
    quarantine,
    probe: () => probeWritable(absolute),
    // Nothing is held open between calls; this process's changes of the blob totals go to their file.
    close: () => blobs.close(),
    lock,
  }
}

/**
 * Writes the format of a new folder; upgrades one of format 1 (upgrade.ts), or one whose upgrade
 * was cut short; refuses any other. A folder with no format.json but a format 1 index is one
 * written before format.json existed: upgraded too, not taken for a new one.
 */
async function checkFormat(root: string, lock: KeyedLock): Promise<void> {
  let format = await readFormat(root)
  if (format === undefined) {
    if ((await statOrNull(formatOneIndexDir(blobsDir(root)))) === null) {
      await writeFileAtomic(formatFile(root), JSON.stringify({ format: STORE_FORMAT }) + '\n')
      return
    }
    format = 1
  }
  // Format 1, or an upgrade from it cut short.
  const upgradable = (found: unknown) => found === 1 || found === 'upgrading'
  if (upgradable(format)) {
    // Read again under the lock: another process may have upgraded it while this one waited.
    format = await lock.withLock(
      formatLock(root),
      async () => {
        const now = (await readFormat(root)) ?? 1
        if (upgradable(now)) await upgradeFromFormatOne(root, blobsDir(root))
        return readFormat(root)
      },
      { patient: true },
    )
  }
  if (format !== STORE_FORMAT) {
    throw new SinopiaError('ESTORAGE', `storage folder ${root} has format ${String(format)}; this version reads format ${STORE_FORMAT}`, {
      hint: 'point `storage` at another folder, or use the sinopia-cli version that wrote it',
    })
  }
  // What an upgrade could not remove, or a crash cut short: removed now (rare; one stat otherwise).
  if ((await statOrNull(formatOneIndexDir(blobsDir(root)))) !== null) await removeFormatOneIndex(blobsDir(root))
}

/**
 * format.json's `format`: undefined when there is no file (a new folder), null when it does not
 * parse, 'upgrading' while an upgrade to this format is unfinished (see upgrade.ts).
 */
async function readFormat(root: string): Promise<unknown> {
  let raw: string
  try {
    raw = await readFile(formatFile(root), 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw error
  }
  try {
    const parsed = JSON.parse(raw) as { format?: unknown; upgrading?: unknown }
    if (parsed.format === UPGRADING.format && parsed.upgrading === UPGRADING.upgrading) return 'upgrading'
    return parsed.format ?? null
  } catch {
    return null
  }
}

/** Removes what killed writers left in a temp folder (older than STALE_TMP_MS); also run on the PostgreSQL store's blob cache. */
export async function removeStaleTemp(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  const now = Date.now()
  for (const name of names) {
    const file = path.join(dir, name)
    try {
      if (now - (await stat(file)).mtimeMs > STALE_TMP_MS) await rm(file, { recursive: true, force: true })
    } catch {
      // Another process may be removing it at the same time.
    }
  }
}
