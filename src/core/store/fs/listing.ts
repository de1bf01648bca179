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
 * The content's top folders (`00`..`ff`, cacache's first fan-out) shared out among walks that
 * run side by side, on threads of their own too: each walk claims the next unclaimed folder from
 * a counter in shared memory. A walk that starts late or runs slower takes fewer folders, and a
 * folder is one walk's whole, named by its number, so one made while they run is walked once at
 * most (a listing taken by each walk could differ between them).
 */
export interface ContentShare {
  /** One counter: the next top folder to claim (0..256), in a SharedArrayBuffer. */
  claims: Int32Array
}

/** The top folders of cacache's fan-out: 256 two-digit hex names. */
const TOP_FOLDERS = 256

/** A share whose folders are all unclaimed (pass the same one to every walk that takes part). */
export function contentShare(): ContentShare {
  return { claims: new Int32Array(new SharedArrayBuffer(4)) }
}

/** Whether any top folder is still unclaimed: a helper that would find none is not started. */
export function claimsLeft(share: ContentShare): boolean {
  return Atomics.load(share.claims, 0) < TOP_FOLDERS
}

/** The next top folder's name for this walk, or null when every one is claimed. */
function claim(share: ContentShare): string | null {
  const at = Atomics.add(share.claims, 0, 1)
  return at < TOP_FOLDERS ? at.toString(16).padStart(2, '0') : null
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
 * `share`, only under the top folders this walk claims from it.
 */
export function* eachFile(root: string, share?: ContentShare): Generator<{ name: string; path: string }> {
  for (const a of share ? claimed(share) : names(root)) {
    for (const b of names(path.join(root, a))) {
      for (const rest of names(path.join(root, a, b))) yield { name: a + b + rest, path: path.join(root, a, b, rest) }
    }
  }
}

/** Top folders as this walk claims them; any other name there holds no content file (contentFiles wants hex names). */
function* claimed(share: ContentShare): Generator<string> {
  for (let a = claim(share); a !== null; a = claim(share)) yield a
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return []
    throw error
  }
}
