import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { verifyStore } from '../../../src/core/maintenance/index.js'
import { PackageRules, Registry, parsePublish } from '../../../src/core/registry/index.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { buildPackage } from '../../helpers/packages.js'
import { publishBody } from '../../helpers/publish.js'

/**
 * fetched.json is what says a name is the uplink's once prune dropped its upstream.json. A
 * missing one means "never fetched"; a broken one is an error, never "local-only": that would
 * make the publish create a local package that hides every uplink version of the name for good.
 */
describe('publish over a broken fetched.json', () => {
  let dir: string
  let store: Store
  let upstream: UpstreamClient
  let registry: Registry
  let config: ReturnType<typeof parseConfig>['config']

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-fetched-'))
    config = parseConfig(stringify({ storage: path.join(dir, 'storage'), packages: { '**': { access: '$all', publish: '$all', override: '$all' } } }), path.join(dir, 'config.yaml')).config
    store = await openStore(config.storage)
    upstream = new UpstreamClient(config.uplinks)
    registry = new Registry(config, store, upstream)
  })
  afterEach(async () => {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function publish(name: string) {
    const limits = { maxUnpackedSize: config.maxUnpackedSize, maxManifestSize: config.maxBodySize, maxJsonDepth: config.maxJsonDepth }
    const actor = { user: { name: 'alice', groups: [] }, rule: new PackageRules(config.packages).match(name)! }
    return registry.publisher.publish(name, await parsePublish(name, publishBody(await buildPackage({ name, version: '1.0.0' })), limits), actor)
  }

  it.each(['null', '[]', '{"uplink": "npmjs"}', '{"uplink": '])('%s is ECORRUPT with the verify hint, and nothing is written', async (content) => {
    await store.packages.withLock('from-uplink', () => store.packages.writeFetched('from-uplink', { uplink: 'npmjs', fetchedAt: 1 }))
    await writeFile(path.join(config.storage, 'packages', 'from-uplink', 'fetched.json'), content)
    await expect(publish('from-uplink')).rejects.toMatchObject({ code: 'ECORRUPT', hint: expect.stringMatching(/verify --fix/) })
    expect(await store.packages.readLocal('from-uplink')).toBeNull()
    // The hint holds: verify reports the file (and --fix moves it aside).
    const report = await verifyStore(store)
    expect(report.metadata.broken.map((b) => path.basename(b.file))).toEqual(['fetched.json'])
  })

  it('a missing fetched.json is "never fetched": the name is published here', async () => {
    await publish('brand-new')
    expect((await store.packages.readLocal('brand-new'))?.doc.origin).toBe('local-only')
  })
})
