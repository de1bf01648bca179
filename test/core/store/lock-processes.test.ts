import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/**
 * A child process that bumps a counter in the store N times, each a locked read-modify-write.
 * It never closes the store: it must exit all the same (a database store's idle sessions do not hold it).
 */
const CHILD = `
const { openStore } = await import(process.argv[1]);
const store = await openStore(process.argv[2], { blobCache: process.argv[4] });
for (let i = 0; i < Number(process.argv[3]); i++) {
  await store.packages.withLock('counter', async () => {
    const current = (await store.packages.readFetched('counter'))?.fetchedAt ?? 0;
    await new Promise((r) => setTimeout(r, 2));
    await store.packages.writeFetched('counter', { uplink: 'n', fetchedAt: current + 1 });
  });
}
`

/**
 * A child process that adds N versions to one package's local document, all at once (so they
 * queue behind the lock and are written in groups: see local-changes.ts).
 */
const GROUPED_CHILD = `
const { openStore } = await import(process.argv[1]);
const store = await openStore(process.argv[2], { blobCache: process.argv[4] });
const tag = process.argv[5];
await Promise.all(Array.from({ length: Number(process.argv[3]) }, (_, i) => store.packages.changeLocal('grouped', async (doc) => {
  const next = doc ?? { origin: 'local-only', versions: {}, 'dist-tags': {}, removedTags: [], deprecated: {}, time: {}, revision: 0 };
  await new Promise((r) => setTimeout(r, 1));
  next.versions[tag + '.' + i] = { name: 'grouped', version: tag + '.' + i };
  return next;
})));
`

describe('package lock across processes', () => {
  let root: string
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sinopia-lock-'))
  })
  afterEach(() => rm(root, { recursive: true, force: true }))

  async function bumpFromProcesses(location: string): Promise<void> {
    const entry = path.join(repo, 'dist/core/store/index.js')
    const runs = Array.from({ length: 4 }, (_, i) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, entry, location, '10', path.join(root, `cache-${i}`)], { stdio: 'inherit' })
      return new Promise<number | null>((resolve) => child.on('exit', resolve))
    })
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0])
    const store = await openStore(location, { blobCache: path.join(root, 'cache') })
    expect((await store.packages.readFetched('counter'))?.fetchedAt).toBe(40)
    await store.close()
  }

  async function groupFromProcesses(location: string): Promise<void> {
    const entry = path.join(repo, 'dist/core/store/index.js')
    const runs = Array.from({ length: 4 }, (_, i) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', GROUPED_CHILD, entry, location, '10', path.join(root, `cache-${i}`), `${i + 1}.0`], { stdio: 'inherit' })
      return new Promise<number | null>((resolve) => child.on('exit', resolve))
    })
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0])
    const store = await openStore(location, { blobCache: path.join(root, 'cache') })
    const doc = (await store.packages.readLocal('grouped'))?.doc
    const expected = [1, 2, 3, 4].flatMap((p) => Array.from({ length: 10 }, (_, i) => `${p}.0.${i}`))
    expect(Object.keys(doc?.versions ?? {}).sort()).toEqual(expected.sort())
    expect(doc?.revision).toBe(40)
    await store.close()
  }

  it('loses no update when several processes write the same package', () => bumpFromProcesses(path.join(root, 'storage')))

  it('loses no grouped change of a local document when several processes change it at once', () => groupFromProcesses(path.join(root, 'storage')))

  it('loses no grouped change of a local document when several processes change it at once in one PostgreSQL database', async () => {
    await groupFromProcesses(await freshDatabase())
  })

  it('loses no update when several processes write the same package in one PostgreSQL database', async () => {
    await bumpFromProcesses(await freshDatabase())
  })
})
