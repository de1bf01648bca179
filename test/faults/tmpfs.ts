import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

/**
 * Small tmpfs volumes for disk-fault tests. Mounting needs root: elsewhere the suites skip with
 * that reason, but never under CI (which runs as root), where a failing mount fails the test.
 */
export const canMount = process.getuid?.() === 0
export const skipReason = 'needs root to mount a tmpfs (run as root, as CI does)'
if (!canMount && process.env.CI) throw new Error(`disk-fault tests: ${skipReason}, and CI is set`)

export interface Volume {
  dir: string
  /** Bytes a new file can take now. */
  free(): Promise<number>
  /** Fills the volume with a file until only `leave` bytes (rounded down to pages) are free. */
  fill(leave: number): Promise<void>
  /** Removes the filler: the space is back. */
  drain(): Promise<void>
  readOnly(on: boolean): Promise<void>
  unmount(): Promise<void>
}

/**
 * Remounts a mount read-only or writable. The kernel refuses `ro` ("mount point is busy") while any
 * file on it is open for writing, which a running server does for a moment now and then (a health
 * probe, a snapshot, a totals write), so the refusal is retried for a bounded while.
 */
export async function remount(dir: string, mode: 'ro' | 'rw'): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' })
      return
    } catch (error) {
      const busy = /busy/i.test(String((error as { stderr?: Buffer }).stderr ?? error))
      if (!busy || attempt >= 80) throw error
      await sleep(50)
    }
  }
}

export async function mountTmpfs(size: string): Promise<Volume> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-tmpfs-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir])
  const filler = path.join(dir, 'filler.bin')
  let mounted = true
  const free = async () => {
    const fs = await statfs(dir)
    return fs.bavail * fs.bsize
  }
  return {
    dir,
    free,
    async fill(leave) {
      await rm(filler, { force: true })
      const take = (await free()) - leave
      if (take > 0) await writeFile(filler, Buffer.alloc(take))
    },
    drain: () => rm(filler, { force: true }),
    readOnly: (on) => remount(dir, on ? 'ro' : 'rw'),
    async unmount() {
      if (!mounted) return
      mounted = false
      // Lazy: a server that still holds a file open must not keep the mount (and the test) alive.
      execFileSync('umount', ['-l', dir])
      await rm(dir, { recursive: true, force: true })
    },
  }
}
