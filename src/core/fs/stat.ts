import type { Stats } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { errnoCode } from '../errors.js'

/** A file's stats, or null when it does not exist (any other error is thrown). */
export async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}

/** A file opened for reading, or null when it does not exist (any other error is thrown). */
export async function openOrNull(file: string): Promise<FileHandle | null> {
  try {
    return await open(file, 'r')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}

/**
 * What identifies one version of a file: inode, size and mtime. A file replaced by a rename
 * gets a new inode, so a rewrite shows even where mtimes are kept to the second.
 */
export function stampOf(info: Stats): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}`
}

/** The file's stampOf, or '-' when it does not exist. */
export async function fileStamp(file: string): Promise<string> {
  const info = await statOrNull(file)
  return info ? stampOf(info) : '-'
}

/** A file's mtime, or null when it does not exist. */
export async function mtimeOrNull(file: string): Promise<number | null> {
  return (await statOrNull(file))?.mtimeMs ?? null
}
