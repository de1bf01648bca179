import path from 'node:path'
import { SinopiaError } from '../errors.js'
import { statOrNull } from '../fs/stat.js'
import { isDatabaseUrl } from '../store/index.js'

/**
 * A folder to read from must exist: opening a store creates a missing one, and migrating an
 * empty store made from a typo would report success.
 */
export async function assertSource(location: string, flag: string): Promise<string> {
  if (isDatabaseUrl(location)) return location
  const absolute = path.resolve(location)
  const info = await statOrNull(absolute)
  if (!info?.isDirectory()) throw new SinopiaError('ENOSOURCE', `${flag} ${location}: no such folder (it names the storage to copy from)`)
  return absolute
}
