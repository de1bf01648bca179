import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { Packuments } from '../../../src/core/registry/packuments.js'
import { PackageRules } from '../../../src/core/registry/index.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'

/**
 * Packuments' 'changed' event for a new uplink copy carries the search summary made from the
 * tree the fill parsed anyway, so the search index does not read and parse the document again;
 * it is the summary a read of the files gives, and is left out when something is published here.
 */
describe("Packuments 'changed' after an uplink fill", () => {
  let upstream: FakeUpstream
  let dir: string
  let store: Store
  let client: UpstreamClient
  let packuments: Packuments
  let events: Array<[string, unknown]>
  beforeEach(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'alpha', version: '1.0.0', description: 'first alpha', extra: { keywords: ['greek'] } })] })
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-changed-'))
    const { config } = parseConfig(stringify({ storage: path.join(dir, 'storage'), uplinks: { npmjs: { url: upstream.url } } }), path.join(dir, 'c.yaml'))
    store = await openStore(config.storage)
    client = new UpstreamClient(config.uplinks)
    packuments = new Packuments(store, client, new PackageRules(config.packages))
    events = []
    packuments.on('changed', (name: string, fields: unknown) => events.push([name, fields]))
  })
  afterEach(async () => {
    await client.close()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('carries the summary a read of the stored files gives, for a package with nothing published here', async () => {
    await packuments.get('alpha')
    expect(events).toHaveLength(1)
    const [name, fields] = events[0] as [string, Record<string, unknown>]
    expect(name).toBe('alpha')
    const read = await packuments.summary('alpha')
    if (!read) throw new Error('no summary read')
    const { text: _text, ...expected } = read
    expect(fields).toEqual(expected)
    expect(fields).toMatchObject({ description: 'first alpha', keywords: ['greek'], origin: 'cached' })
  })

  it('is announced while the package is still locked: a later writer of the package is announced after it', async () => {
    // Else another process's write landing before this announcement would be read by the index
    // first and then overwritten by this older copy's summary. (The folder store's lock folder.)
    const locked: boolean[] = []
    packuments.on('changed', () => locked.push(existsSync(path.join(dir, 'storage', 'packages', 'alpha', '.lock'))))
    await packuments.get('alpha')
    expect(locked).toEqual([true])
  })

  it('carries none when something is published here: the merged document is read instead', async () => {
    await store.packages.withLock('alpha', () => store.packages.writeLocal('alpha', { ...emptyLocal('override'), 'dist-tags': { beta: '1.0.0' } }))
    await packuments.get('alpha')
    expect(events).toEqual([['alpha', undefined]])
  })
})
