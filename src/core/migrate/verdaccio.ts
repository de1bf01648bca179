import { createReadStream } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { parseHtpasswd, type Users } from '../auth/index.js'
import { eachLimited } from '../each-limited.js'
import { SinopiaError, errnoCode } from '../errors.js'
import { statOrNull } from '../fs/stat.js'
import { encodeUpstream, expectedIntegrity, tarballKey, type Manifest, type Store } from '../store/index.js'
import { copyBlob, copyFetched, copyLocal, copyUpstreamBytes } from './copy.js'
import { DEFAULT_MIGRATE_CONCURRENCY, Tally, type MigrateOptions, type MigrateReport } from './report.js'
import { VERDACCIO_DB_FILES, fetchedAtOf, localDocOf, publishedNames, tarballFile, upstreamRecordOf, uplinkOf, type VerdaccioPackument } from './verdaccio-format.js'

export interface VerdaccioSource {
  /** The storage folder (Verdaccio's `storage:`). */
  dir: string
  /** The config's uplinks, by name: which one a cached package is recorded as fetched from. */
  uplinks: Record<string, { url: string }>
}

/**
 * Reads a Verdaccio or Sinopia storage folder into `dest`. Packages its `.verdaccio-db.json` lists
 * become local documents, each version with its tarball stored and verified against the
 * version's dist.integrity (or shasum); a version whose tarball is missing or does not match is
 * reported and left out. Every other package becomes a cached uplink copy, with whatever
 * tarballs Verdaccio had cached (each verified the same way). The folder is only read; what
 * the destination already holds identical is skipped, so a rerun continues.
 */
export async function migrateVerdaccio(source: VerdaccioSource, dest: Store, options: MigrateOptions = {}): Promise<MigrateReport> {
  const dir = path.resolve(source.dir)
  const tally = new Tally(dir, dest.root, options.onProgress)
  const names = await packageFolders(dir)
  const published = new Set(await readPublished(dir))
  for (const name of [...published].sort()) {
    if (!names.includes(name)) tally.report.warnings.push(`${name} is listed in the db file but has no ${name}/package.json: nothing to import`)
  }
  tally.expect(names.length)
  await eachLimited(names, options.concurrency ?? DEFAULT_MIGRATE_CONCURRENCY, async (name) => {
    try {
      const doc = await readPackument(dir, name)
      tally.report.packages++
      await dest.packages.withLock(name, () => (published.has(name) ? importPublished(dir, dest, name, doc, tally) : importCached(dir, dest, name, doc, source.uplinks, tally)))
    } catch (error) {
      tally.fail(name, error)
    }
    tally.step()
  })
  return tally.finish()
}

/** Appends the users of Verdaccio's htpasswd file to `users` (the configured file); names already there are left alone. */
export async function migrateHtpasswd(file: string, users: Users): Promise<{ added: string[]; existing: string[] }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new SinopiaError('ENOHTPASSWD', `cannot read ${file} (${errnoCode(error) ?? String(error)})`, { hint: 'give the htpasswd file of the Verdaccio config (auth.htpasswd.file)', cause: error })
  }
  return users.adopt(parseHtpasswd(text))
}

async function importPublished(dir: string, dest: Store, name: string, doc: VerdaccioPackument, tally: Tally): Promise<void> {
  const versions: Record<string, Manifest> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    const expected = expectedIntegrity(manifest.dist)
    if (!expected) {
      tally.fail(`${name}@${version}`, new SinopiaError('ENOINTEGRITY', 'its manifest has neither dist.integrity nor dist.shasum: its tarball cannot be verified, so it is left out'))
      continue
    }
    const file = path.join(dir, name, tarballFile(name, manifest))
    const open = async () => {
      if (!(await statOrNull(file))) throw new SinopiaError('ENOENT', `its tarball ${file} is missing: the version is left out`)
      return createReadStream(file)
    }
    const sha512 = await copyBlob(dest, { key: tarballKey(name, version), integrity: expected }, open, tally)
    // As a publish here stores it: dist completed with the sha512 of the bytes.
    if (sha512) versions[version] = { ...manifest, dist: { ...manifest.dist, integrity: manifest.dist?.integrity ?? sha512 } }
  }
  await copyLocal(dest, name, localDocOf(doc, versions), tally)
}

async function importCached(dir: string, dest: Store, name: string, doc: VerdaccioPackument, uplinks: VerdaccioSource['uplinks'], tally: Tally): Promise<void> {
  for (const [version, manifest] of Object.entries(doc.versions)) {
    const file = path.join(dir, name, tarballFile(name, manifest))
    // Verdaccio keeps every version's metadata but only the tarballs someone asked for.
    if (!(await statOrNull(file))) continue
    const expected = expectedIntegrity(manifest.dist)
    if (!expected) {
      tally.report.warnings.push(`${name}@${version}: cached tarball not imported, its manifest has no digest to verify it against`)
      continue
    }
    await copyBlob(dest, { key: tarballKey(name, version), integrity: expected }, () => Promise.resolve(createReadStream(file)), tally)
  }
  const uplink = uplinkOf(doc, uplinks)
  await copyUpstreamBytes(dest, name, encodeUpstream(upstreamRecordOf(doc, uplink)), tally)
  await copyFetched(dest, name, { uplink: uplink.uplink, fetchedAt: fetchedAtOf(doc, uplink.uplink) }, tally)
}

async function readPackument(dir: string, name: string): Promise<VerdaccioPackument> {
  const file = path.join(dir, name, 'package.json')
  let doc: VerdaccioPackument
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as VerdaccioPackument
  } catch (error) {
    if (errnoCode(error)) throw error
    throw new SinopiaError('ECORRUPT', `${file} is not valid JSON`, { cause: error })
  }
  if (!doc || typeof doc !== 'object' || !doc.versions || typeof doc.versions !== 'object') throw new SinopiaError('ECORRUPT', `${file} holds no packument`)
  if (doc.name !== name) throw new SinopiaError('ECORRUPT', `${file} names ${String(doc.name)}, not the folder's ${name}`)
  return doc
}

/** The names published on the Verdaccio (its db file); none when it kept no such file. */
async function readPublished(dir: string): Promise<string[]> {
  for (const base of VERDACCIO_DB_FILES) {
    const file = path.join(dir, base)
    let raw: string
    try {
      raw = await readFile(file, 'utf8')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') continue
      throw error
    }
    try {
      return publishedNames(JSON.parse(raw))
    } catch (error) {
      throw new SinopiaError('ECORRUPT', `${file} is not valid JSON`, { hint: 'without it, published packages cannot be told from cached ones', cause: error })
    }
  }
  return []
}

/** Every folder holding a package.json: `name/` and `@scope/name/`, sorted. */
async function packageFolders(dir: string): Promise<string[]> {
  let top
  try {
    top = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new SinopiaError('ENOSOURCE', `cannot read the Verdaccio storage folder ${dir} (${errnoCode(error) ?? String(error)})`, { cause: error })
  }
  const candidates: string[] = []
  for (const entry of top) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    if (!entry.name.startsWith('@')) candidates.push(entry.name)
    else for (const inner of await readdir(path.join(dir, entry.name), { withFileTypes: true })) if (inner.isDirectory()) candidates.push(`${entry.name}/${inner.name}`)
  }
  const names: string[] = []
  for (const name of candidates) if ((await statOrNull(path.join(dir, name, 'package.json')))?.isFile()) names.push(name)
  return names.sort()
}
