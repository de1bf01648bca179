import { readdir, rename } from 'node:fs/promises'
import path from 'node:path'
import ssri from 'ssri'
import { errnoCode } from '../../errors.js'
import { ensureDir } from '../../fs/dirs.js'
import type { DocumentKind } from '../documents.js'
import type { Quarantine } from '../types.js'
import type { ChangeJournal } from './journal.js'
import { documentFile, packageDir } from './layout.js'

/** The quarantine folder (see layout.ts): blobs/<sha512 hex>.<ms> and packages/<folder>/<file>.<ms>. */
export class FsQuarantine implements Quarantine {
  constructor(
    private readonly root: string,
    readonly dir: string,
    private readonly journal: ChangeJournal,
  ) {}

  /** Moves a content file aside; null when it was already gone. */
  blob(sha512Integrity: string, file: string): Promise<string | null> {
    const hex = ssri.parse(sha512Integrity, { single: true }).hexDigest()
    return moveAside(file, path.join(this.dir, 'blobs', `${hex}.${Date.now()}`))
  }

  async document(name: string, kind: DocumentKind): Promise<string | null> {
    const file = documentFile(this.root, name, kind)
    const moved = await moveAside(file, path.join(this.dir, 'packages', path.basename(packageDir(this.root, name)), `${path.basename(file)}.${Date.now()}`))
    // A served document gone is a change readers of the feed must see.
    if (moved && kind !== 'fetched') await this.journal.note(name)
    return moved
  }

  async list(): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.dir, { recursive: true })
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return []
      throw error
    }
    const files: string[] = []
    for (const name of names.sort()) {
      // Only the leaves: a kind folder (blobs/, packages/<folder>/) is no quarantined thing.
      if (/\.\d+$/.test(name)) files.push(path.join(this.dir, name))
    }
    return files
  }
}

async function moveAside(file: string, target: string): Promise<string | null> {
  await ensureDir(path.dirname(target))
  try {
    await rename(file, target)
    return target
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}
