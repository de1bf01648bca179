import { eachLimited, eachLimitedOf } from '../each-limited.js'
import { decodeUpstream, type BlobEntry, type Store } from '../store/index.js'
import { copyBlob, copyFetched, copyLocal, copyUpstreamBytes } from './copy.js'
import { DEFAULT_MIGRATE_CONCURRENCY, Tally, type MigrateOptions, type MigrateReport } from './report.js'

/**
 * Copies everything `source` keeps into `dest`, through the Store interface only, so any pair of
 * backends works: first every blob, streamed from the source's listing (re-hashed by the
 * destination's write), then per package its documents (each decoded first) under the package's
 * destination lock, so a version is never visible before its tarball; then tokens and usage.
 * Nothing is held per blob: the listing is consumed as it comes, a few copies at once. The
 * source is only read and no source lock is taken, so a server may keep serving from it. What
 * the destination already holds identical is skipped: rerunning after an interruption copies
 * only the rest. The quarantine (kept for inspection) is not copied.
 */
export async function migrateStore(source: Store, dest: Store, options: MigrateOptions = {}): Promise<MigrateReport> {
  const tally = new Tally(source.root, dest.root, options.onProgress)
  const names = await source.packages.list()
  tally.expect(names.length)
  const concurrency = options.concurrency ?? DEFAULT_MIGRATE_CONCURRENCY

  // The total grows as the listing goes: counting it first would read the whole index twice.
  await eachLimitedOf(source.blobs.eachEntry(), concurrency, async (entry) => {
    tally.expect(1)
    await copyEntry(source, dest, entry, tally)
  })
  await eachLimited(names, concurrency, async (name) => {
    await dest.packages.withLock(name, () => copyDocuments(source, dest, name, tally))
    tally.step()
  })
  await copyTokens(source, dest, tally)
  const users = await copyUsers(source, dest, tally)
  await copyUsage(source, dest, tally)
  const report = tally.finish()
  if (users) report.users = users
  return report
}

async function copyEntry(source: Store, dest: Store, entry: BlobEntry, tally: Tally): Promise<void> {
  await copyBlob(
    dest,
    entry,
    async () => {
      const blob = await source.blobs.open(entry.integrity, entry.key)
      return blob ? blob.handle.createReadStream() : null
    },
    tally,
  )
  tally.step()
}

/** The package's three documents, each checked on the way: a broken one is reported and the others still copied. */
async function copyDocuments(source: Store, dest: Store, name: string, tally: Tally): Promise<void> {
  tally.report.packages++
  try {
    const upstream = await source.packages.readUpstreamBytes(name)
    if (upstream) {
      decodeUpstream(upstream.raw, upstream.where)
      await copyUpstreamBytes(dest, name, upstream.raw, tally)
    }
  } catch (error) {
    tally.fail(`${name} (upstream)`, error)
  }
  try {
    const fetched = await source.packages.readFetched(name)
    if (fetched) await copyFetched(dest, name, fetched, tally)
  } catch (error) {
    tally.fail(`${name} (fetched)`, error)
  }
  try {
    const local = await source.packages.readLocal(name)
    if (local) await copyLocal(dest, name, local.doc, tally)
  } catch (error) {
    tally.fail(`${name} (local)`, error)
  }
}

/** Tokens are merged by key: ones the destination has with the same record are skipped, none is removed. */
async function copyTokens(source: Store, dest: Store, tally: Tally): Promise<void> {
  try {
    const records = await source.tokens.read()
    if (records.size === 0) return
    let copied = 0
    let skipped = 0
    await dest.tokens.modify((held) => {
      copied = 0
      skipped = 0
      const byKey = new Map(held.map((r) => [r.key, r]))
      for (const record of records.values()) {
        if (JSON.stringify(byKey.get(record.key)) === JSON.stringify(record)) skipped++
        else {
          byKey.set(record.key, record)
          copied++
        }
      }
      return [...byKey.values()]
    })
    for (let i = 0; i < copied; i++) tally.token('copied')
    for (let i = 0; i < skipped; i++) tally.token('skipped')
  } catch (error) {
    tally.fail('tokens', error)
  }
}

/**
 * Users kept in the store (auth.store) are added by name: one the destination has already keeps
 * its own hash, as migrate --htpasswd does. Undefined when the source keeps none.
 */
async function copyUsers(source: Store, dest: Store, tally: Tally): Promise<MigrateReport['users']> {
  try {
    const records = await source.users.read()
    if (records.size === 0) return undefined
    const result = { added: [] as string[], existing: [] as string[] }
    for (const record of records.values()) {
      if ((await dest.users.add(record)) === 'added') result.added.push(record.name)
      else result.existing.push(record.name)
    }
    return result
  } catch (error) {
    tally.fail('users', error)
    return undefined
  }
}

/** Usage is only a recency hint for prune: the later of the two times wins. */
async function copyUsage(source: Store, dest: Store, tally: Tally): Promise<void> {
  try {
    const usage = await source.usage.read()
    if (usage.size === 0) return
    await dest.usage.update((held) => {
      for (const [key, at] of usage) if ((held.get(key) ?? -Infinity) < at) held.set(key, at)
    })
    tally.report.usage = usage.size
  } catch (error) {
    tally.fail('usage', error)
  }
}
