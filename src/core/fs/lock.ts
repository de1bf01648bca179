import path from 'node:path'
import lockfile from 'proper-lockfile'
import { errnoCode } from '../errors.js'
import { KeyChains } from '../key-chains.js'
import { ensureDir } from './dirs.js'

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
    let release: () => Promise<void>
    for (let attempt = 0; ; attempt++) {
      await ensureDir(path.dirname(lockPath))
      try {
        // The lock's own path as the locked "file": proper-lockfile keeps its held locks by that
        // name, so two locks in one folder (usage.lock and changes.log.lock in the storage root)
        // keyed by the folder would take each other's place and fail to release.
        release = await lockfile.lock(lockPath, {
          lockfilePath: lockPath,
          realpath: false,
          // A holder that died (SIGKILL, power cut) leaves a lock whose mtime stops being refreshed
          // (every second while held); 5 s later it is stale, so the next writer waits at most that.
          stale: 5_000,
          update: 1_000,
          retries: patient ? { forever: true, factor: 1.2, minTimeout: 5, maxTimeout: 1000 } : { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 200 },
        })
        break
      } catch (error) {
        // Another process (prune) removed the empty folder between the mkdir and the lock.
        if (errnoCode(error) !== 'ENOENT' || attempt >= 5) throw error
      }
    }
    try {
      return await fn()
    } finally {
      await release()
    }
  }
}
