import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { errnoCode } from '../../errors.js'
import { TimeSlice } from '../../fs/time-slice.js'

/** One file of blob content; its path is its digest (see layout.ts). */
export interface ContentFile {
  integrity: string
  hex: string
  path: string
  size: number
  mtimeMs: number
}

/**
 * Every content file: content-v2/sha512/ab/cd/<rest> is the blob whose sha512 hex digest is
 * "abcd<rest>". Anything else found there (temp names, other algorithms) is skipped; so is one
 * `only` refuses, before its stat. Stat-ed with blocking calls between turns of the event loop
 * (see TimeSlice).
 */
export async function* listContent(blobsDir: string, only?: (integrity: string) => boolean): AsyncGenerator<ContentFile> {
  const slice = new TimeSlice()
  for (const found of contentFiles(blobsDir)) {
    // Asked by name, before the stat: see Blobs.content.
    if (only && !only(integrityOfHex(found.name))) {
      await slice.pause()
      continue
    }
    // Removed while we walked (a prune, an unpublish): not there any more.
    const info = statSync(found.path, { throwIfNoEntry: false })
    if (info?.isFile()) yield { integrity: integrityOfHex(found.name), hex: found.name, path: found.path, size: info.size, mtimeMs: info.mtimeMs }
    await slice.pause()
  }
}

/**
 * One of `lanes` parts of the content, for walks of it side by side: the top folders (`ab/`,
 * 256 of them, each as full as the others) whose number (0x`ab`) is `lane` modulo `lanes`.
 */
export interface ContentShare {
  lane: number
  lanes: number
}

/** The content files' names (their sha512 hex digests) and paths, one folder listing held at a time. */
export function* contentFiles(blobsDir: string, share?: ContentShare): Generator<{ name: string; path: string }> {
  for (const found of eachFile(path.join(blobsDir, 'content-v2', 'sha512'), share)) if (/^[0-9a-f]{128}$/.test(found.name)) yield found
}

/** sha512-<base64> of a hex digest. */
export function integrityOfHex(hex: string): string {
  return `sha512-${Buffer.from(hex, 'hex').toString('base64')}`
}

/**
 * Every name three folders down from `root` (cacache's `ab/cd/<rest>` fan-out: the content, and
 * format 1's index), with the three parts joined: one folder listing held at a time. With
 * `share`, only under its top folders.
 */
export function* eachFile(root: string, share?: ContentShare): Generator<{ name: string; path: string }> {
  for (const a of names(root)) {
    if (share && laneOf(a, share.lanes) !== share.lane) continue
    for (const b of names(path.join(root, a))) {
      for (const rest of names(path.join(root, a, b))) yield { name: a + b + rest, path: path.join(root, a, b, rest) }
    }
  }
}

/**
 * The lane of a top folder, by its name (`00`..`ff`), so that lanes that list the folder at
 * different times (a folder made meanwhile) still share it out the same way. Any other name
 * is lane 0's.
 */
function laneOf(name: string, lanes: number): number {
  const at = /^[0-9a-f]{2}$/.test(name) ? Number.parseInt(name, 16) : 0
  return at % lanes
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return []
    throw error
  }
}
