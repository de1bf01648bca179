import type { Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
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
