import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { Registry } from '../../../src/core/registry/index.js'
import { openStore, type Packages, type Packument, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'

/**
 * Holds each handle's write of an uplink copy until the other handle's write arrives too, or
 * `patienceMs` passed: two merges that both read the stored copy before either wrote meet here
 * and then both write, so one part is lost unless the package's lock kept them apart (then the
 * first waits out its patience alone, writes, and the second reads that copy before it merges).
 */
class WriteMeeting {
  private arrived = 0
  private meet = () => undefined as void
  private readonly met = new Promise<void>((resolve) => (this.meet = resolve))
  armed = false

  constructor(private readonly patienceMs: number) {}

  async arrive(): Promise<void> {
    if (!this.armed) return
    if (++this.arrived >= 2) this.meet()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.met, new Promise((resolve) => (timer = setTimeout(resolve, this.patienceMs)))])
    clearTimeout(timer)
  }
}

/** The store as it is, its uplink-copy writes passing through `meeting` first. */
function meetingAtWrites(store: Store, meeting: WriteMeeting): Store {
  const packages = new Proxy(store.packages, {
    get(target, property, receiver) {
      if (property === 'writeUpstreamBytes') {
        return async (...args: Parameters<Packages['writeUpstreamBytes']>) => {
          await meeting.arrive()
          return target.writeUpstreamBytes(...args)
        }
      }
      const value = Reflect.get(target, property, receiver) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
  return { ...store, packages }
}

/**
 * A rule with two uplinks, served by two store handles on one storage folder (as two `serve`
 * processes are): each merges the answer of its own uplink into the stored record under the
 * package's lock, so answers stored at once by the two both survive.
 */
describe('two handles storing different uplinks’ answers for one package at once', () => {
  let corp: FakeUpstream
  let pub: FakeUpstream
  let dir: string
  const stores: Store[] = []
  const clients: UpstreamClient[] = []

  /** A handle whose only stale uplink is `due` (maxage 0); the other stays fresh for an hour. */
  async function handle(due: 'corp' | 'pub', meeting: WriteMeeting): Promise<Registry> {
    const maxage = (name: string) => (name === due ? 0 : '1h')
    const yaml = stringify({
      storage: path.join(dir, 'storage'),
      uplinks: { corp: { url: corp.url, maxage: maxage('corp') }, pub: { url: pub.url, maxage: maxage('pub') } },
      packages: { '**': { access: '$all', proxy: 'corp pub' } },
    })
    const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
    const store = await openStore(config.storage)
    const client = new UpstreamClient(config.uplinks)
    stores.push(store)
    clients.push(client)
    return new Registry(config, meetingAtWrites(store, meeting), client)
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-uplinks-race-'))
    corp = await startFakeUpstream({ packages: [await buildPackage({ name: 'shared', version: '1.0.0' })] })
    pub = await startFakeUpstream({ packages: [await buildPackage({ name: 'shared', version: '2.0.0' })] })
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await Promise.all(stores.splice(0).map((s) => s.close()))
    await Promise.all([corp.stop(), pub.stop()])
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps both new parts: neither merge works from a copy read before the other was written', async () => {
    const meeting = new WriteMeeting(500)
    const a = await handle('corp', meeting)
    const b = await handle('pub', meeting)
    expect([...(await a.packuments.get('shared')).view.versions.keys()].sort()).toEqual(['1.0.0', '2.0.0'])

    corp.addPackage(await buildPackage({ name: 'shared', version: '1.1.0' }))
    pub.addPackage(await buildPackage({ name: 'shared', version: '2.1.0' }))
    meeting.armed = true
    // A asks only corp, B only pub; each merges its answer into the stored record.
    await Promise.all([a.packuments.get('shared'), b.packuments.get('shared')])
    expect(corp.count('/shared')).toBe(2)
    expect(pub.count('/shared')).toBe(2)

    const stored = (await stores[0]?.packages.readUpstream('shared'))?.record.doc as Packument
    expect(Object.keys(stored.versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.1.0'])
  })
})
