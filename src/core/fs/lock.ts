import fs from 'node:fs'
import path from 'node:path'
import lockfile from 'proper-lockfile'
import { errnoCode } from '../errors.js'
import { KeyChains } from '../key-chains.js'
import { ensureDir } from './dirs.js'

/**
 * The fs proper-lockfile works through: its mkdir of a lock makes the lock's folder first when
 * that is missing. Was: a mkdir -p of the folder before every lock, two thread-pool trips (a mkdir
 * that fails, a stat) on every lock taken, in a folder that nearly always exists. One object for
 * the process: proper-lockfile keeps what it learnt of the file system's mtime precision on it.
 */
const lockFs = {
  ...fs,
  mkdir(dir: string, callback: (error: NodeJS.ErrnoException | null) => void): void {
    fs.mkdir(dir, (error) => {
      if (errnoCode(error) !== 'ENOENT') return callback(error)
      // prune removes empty folders: the lock's folder may also vanish between the two mkdirs
      // (then the lock fails with ENOENT, and takeLock tries again at once).
      ensureDir(path.dirname(dir)).then(() => fs.mkdir(dir, callback), callback)
    })
  },
}

/**
 * Serializes read-modify-write on one key, inside this process (a promise chain per key)
 * and across processes (a proper-lockfile lock directory), so `serve` and `mirror`
 * running on the same storage never lose each other's updates.
 */
export class KeyedLock {
  private readonly chains = new KeyChains()

  /**
   * `patient`: wait as long as the holder lives (a store's format upgrade takes minutes), where
   * a lock otherwise gives up after ~40 s with ELOCKED.
   */
  withLock<T>(lockPath: string, fn: () => Promise<T>, options: { patient?: boolean } = {}): Promise<T> {
    return this.chains.run(lockPath, () => this.acrossProcesses(lockPath, fn, options.patient ?? false))
  }

  private async acrossProcesses<T>(lockPath: string, fn: () => Promise<T>, patient: boolean): Promise<T> {
    const release = await takeLock(lockPath, patient)
    try {
      return await fn()
    } finally {
      await release()
    }
  }
}

/** Waits between tries of a held lock: 5 ms, growing by 1.2 each time, capped (~40 s over 200 tries). */
const RETRIES = 200
const waitBefore = (attempt: number, patient: boolean) => Math.min(patient ? 1_000 : 200, 5 * 1.2 ** attempt)

/**
 * Takes the lock, retrying only while another holder has it (ELOCKED). proper-lockfile's own
 * retries would also retry a disk error: a read-only volume's EROFS answered ~40 s late.
 */
async function takeLock(lockPath: string, patient: boolean): Promise<() => Promise<void>> {
  let vanished = 0
  for (let attempt = 0; ; attempt++) {
    try {
      // The lock's own path as the locked "file": proper-lockfile keeps its held locks by that
      // name, so two locks in one folder (usage.lock and changes.log.lock in the storage root)
      // keyed by the folder would take each other's place and fail to release.
      return await lockfile.lock(lockPath, {
        lockfilePath: lockPath,
        realpath: false,
        fs: lockFs,
        // A holder that died (SIGKILL, power cut) leaves a lock whose mtime stops being refreshed
        // (every second while held); 5 s later it is stale, so the next writer waits at most that.
        stale: 5_000,
        update: 1_000,
      })
    } catch (error) {
      // The lock's folder made and removed again (prune) between lockFs's two mkdirs: at once again.
      if (errnoCode(error) === 'ENOENT' && vanished++ < 5) continue
      if (errnoCode(error) !== 'ELOCKED' || (!patient && attempt >= RETRIES)) throw error
      await new Promise((resolve) => setTimeout(resolve, waitBefore(attempt, patient)))
    }
  }
}
