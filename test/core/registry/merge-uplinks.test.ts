import { afterEach, describe, expect, it } from 'vitest'
import { mergedRecord, mergeUplinks, partsOf } from '../../../src/core/registry/merge-uplinks.js'
import { settle, type UplinkAnswer } from '../../../src/core/registry/uplink-answers.js'
import { ViewBuilder } from '../../../src/core/registry/view-builder.js'
import { viewOf } from '../../../src/core/registry/view.js'
import { SinopiaError } from '../../../src/core/errors.js'
import { decodeUpstream, encodeUpstream, type Manifest, type Packument, type UplinkPart, type UpstreamRecord } from '../../../src/core/store/index.js'

const manifest = (version: string, from: string): Manifest => ({ name: 'p', version, dist: { tarball: `http://${from}/p/-/p-${version}.tgz`, integrity: `sha512-${from}${version}` } })

function part(uplink: string, versions: string[], extra: Partial<Packument> = {}): UplinkPart {
  const doc: Packument = { name: 'p', versions: Object.fromEntries(versions.map((v) => [v, manifest(v, uplink)])), ...extra }
  return { uplink, upstreamUrl: `http://${uplink}/`, doc }
}

describe('mergeUplinks', () => {
  it('takes each version, its manifest and its time from the first uplink that has it', () => {
    const corp = part('corp', ['1.0.0', '1.1.0'], { time: { '1.0.0': '2021-01-01T00:00:00.000Z', '2.0.0': '2019-01-01T00:00:00.000Z' } })
    const pub = part('pub', ['1.0.0', '2.0.0'], { time: { '1.0.0': '2020-01-01T00:00:00.000Z', '2.0.0': '2020-06-01T00:00:00.000Z' } })
    const { doc, origin } = mergeUplinks('p', [corp, pub])
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(doc.versions['1.0.0']?.dist?.integrity).toBe('sha512-corp1.0.0')
    expect(doc.versions['2.0.0']?.dist?.integrity).toBe('sha512-pub2.0.0')
    expect([...origin]).toEqual([
      ['1.0.0', 0],
      ['1.1.0', 0],
      ['2.0.0', 1],
    ])
    // 2.0.0's manifest is pub's, so its time is too, though corp has a (stale) entry for it.
    expect(doc.time).toEqual({ '1.0.0': '2021-01-01T00:00:00.000Z', '2.0.0': '2020-06-01T00:00:00.000Z' })
  })

  it('takes each dist-tag from the first uplink that has that tag; created the earliest, modified the latest; the rest from the first', () => {
    const corp = part('corp', ['1.0.0'], {
      'dist-tags': { latest: '1.0.0' },
      description: 'corp',
      time: { created: '2020-05-01T00:00:00.000Z', modified: '2020-05-02T00:00:00.000Z' },
    })
    const pub = part('pub', ['2.0.0'], {
      'dist-tags': { latest: '2.0.0', next: '2.0.0' },
      description: 'pub',
      readme: 'pub readme',
      time: { created: '2019-01-01T00:00:00.000Z', modified: '2022-01-01T00:00:00.000Z' },
    })
    const { doc } = mergeUplinks('p', [corp, pub])
    expect(doc['dist-tags']).toEqual({ latest: '1.0.0', next: '2.0.0' })
    expect(doc.time).toEqual({ created: '2019-01-01T00:00:00.000Z', modified: '2022-01-01T00:00:00.000Z' })
    expect(doc.description).toBe('corp')
    expect(doc.readme).toBeUndefined()
    expect(mergeUplinks('p', [pub, corp]).doc['dist-tags']).toEqual({ latest: '2.0.0', next: '2.0.0' })
  })

  it('one part is that part', () => {
    const only = part('corp', ['1.0.0'], { 'dist-tags': { latest: '1.0.0' } })
    expect(mergeUplinks('p', [only]).doc).toEqual(only.doc)
  })
})

describe('upstream records with parts', () => {
  it('a record from one uplink (as stored before several were supported) still decodes, and is its own only part', () => {
    const legacy: UpstreamRecord = { uplink: 'npmjs', upstreamUrl: 'http://npmjs/', etag: '"e1"', doc: part('npmjs', ['1.0.0']).doc }
    const decoded = decodeUpstream(encodeUpstream(legacy), 'upstream.json')
    expect(decoded).toEqual(legacy)
    expect(partsOf(decoded)).toEqual([{ uplink: 'npmjs', upstreamUrl: 'http://npmjs/', etag: '"e1"', doc: legacy.doc }])
  })

  it('a merged record keeps every part and their merge as doc; no top-level validator', () => {
    const record = mergedRecord('p', [{ ...part('corp', ['1.0.0']), etag: '"c"' }, part('pub', ['2.0.0'])])
    const decoded = decodeUpstream(encodeUpstream(record), 'upstream.json')
    expect(Object.keys(decoded.doc.versions)).toEqual(['1.0.0', '2.0.0'])
    expect(decoded).toMatchObject({ uplink: 'corp', upstreamUrl: 'http://corp/' })
    expect(decoded.etag).toBeUndefined()
    expect(partsOf(decoded).map((p) => [p.uplink, p.etag])).toEqual([
      ['corp', '"c"'],
      ['pub', undefined],
    ])
  })

  it('a record whose parts are not packuments is corrupt', () => {
    const bad = { ...mergedRecord('p', [part('corp', ['1.0.0'])]), parts: [{ uplink: 'corp', upstreamUrl: 'http://corp/', doc: {} }] }
    expect(() => decodeUpstream(Buffer.from(JSON.stringify(bad)), 'upstream.json')).toThrow(expect.objectContaining({ code: 'ECORRUPT' }) as Error)
    expect(() => decodeUpstream(Buffer.from(JSON.stringify({ ...bad, parts: [] })), 'upstream.json')).toThrow(expect.objectContaining({ code: 'ECORRUPT' }) as Error)
  })
})

describe('settle', () => {
  const down = new SinopiaError('EUPLINKDOWN', 'pub is down')
  const bytes = Buffer.from('{}')
  const state = { held: new Set(['corp', 'pub']), times: { corp: 1, pub: 1 }, hadRecord: true }

  it('a 200 from one and a 304 from the other: the new part, both times moved', () => {
    const answers: UplinkAnswer[] = [
      { uplink: 'corp', status: 'not-modified' },
      { uplink: 'pub', status: 'ok', part: bytes },
    ]
    expect(settle(answers, [], state, 50)).toEqual({ parts: { pub: bytes }, times: { corp: 50, pub: 50 }, down: [], cache: 'revalidated' })
  })

  it('one failing and one not asked: both down, the first failure the cause, their times kept', () => {
    const settled = settle([{ uplink: 'pub', status: 'failed', error: down }], ['corp'], state, 50)
    expect(settled).toEqual({ parts: {}, times: { corp: 1, pub: 1 }, down: ['corp', 'pub'], cause: down, cache: 'offline' })
  })

  it('a 404 is an answer: its time moves; stale only when that uplink had a part', () => {
    expect(settle([{ uplink: 'pub', status: 'not-found' }], [], state, 50)).toMatchObject({ times: { pub: 50 }, cache: 'stale' })
    const fresh = { held: new Set<string>(), times: {}, hadRecord: false }
    expect(settle([{ uplink: 'corp', status: 'not-found' }, { uplink: 'pub', status: 'ok', part: bytes }], [], fresh, 50)).toMatchObject({ times: { corp: 50, pub: 50 }, cache: 'miss' })
  })
})

describe('the several-uplinks view tasks', () => {
  const uplinks = { corp: { url: 'http://127.0.0.1:8/', tarballOrigins: [] }, pub: { url: 'http://127.0.0.1:9/', tarballOrigins: [] } }
  /** An uplink's packument, its tarballs under its own URL. */
  const body = (from: 'corp' | 'pub', versions: string[]) => {
    const manifests = versions.map((v) => [v, { name: 'p', version: v, dist: { tarball: `${uplinks[from].url}p/-/p-${v}.tgz`, integrity: `sha512-${from}${v}` } }])
    return Buffer.from(JSON.stringify({ name: 'p', 'dist-tags': { latest: versions.at(-1) }, versions: Object.fromEntries(manifests) }))
  }
  const builders: ViewBuilder[] = []
  afterEach(async () => {
    await Promise.all(builders.splice(0).map((b) => b.close()))
  })

  it('merge the same inline and in the worker; each version knows its uplink; a stored part is kept for an uplink without a new answer', async () => {
    const run = async (threshold: number) => {
      const builder = new ViewBuilder(threshold)
      builders.push(builder)
      const corp = await builder.run('checkUplink', { body: body('corp', ['1.0.0']), name: 'p', uplink: 'corp', upstreamUrl: uplinks.corp.url, etag: '"c"' }, 0)
      const pub = await builder.run('checkUplink', { body: body('pub', ['1.0.0', '2.0.0']), name: 'p', uplink: 'pub', upstreamUrl: uplinks.pub.url }, 0)
      const first = await builder.run('fromUplinks', { name: 'p', order: ['corp', 'pub'], answers: { corp, pub }, stored: null, uplinks }, 0)
      // Later only pub answers (corp: 304): corp's stored part stays, first in the order.
      const pubAgain = await builder.run('checkUplink', { body: body('pub', ['1.0.0', '2.0.0', '3.0.0']), name: 'p', uplink: 'pub', upstreamUrl: uplinks.pub.url }, 0)
      const stored = { raw: Buffer.from(first.record), where: 'test' }
      return builder.run('fromUplinks', { name: 'p', order: ['corp', 'pub'], answers: { pub: pubAgain }, stored, uplinks }, 0)
    }
    const inline = await run(Infinity)
    const worker = await run(0)
    expect(Buffer.from(worker.record).equals(Buffer.from(inline.record))).toBe(true)
    expect(worker.data.parts).toEqual([{ uplink: 'corp', etag: '"c"' }, { uplink: 'pub' }])
    const view = viewOf('p', worker.data.view)
    expect(view.versions.get('1.0.0')).toEqual({ version: '1.0.0', expected: 'sha512-corp1.0.0', upstreamUrl: 'http://127.0.0.1:8/p/-/p-1.0.0.tgz', uplink: 'corp' })
    expect(view.versions.get('3.0.0')).toEqual({ version: '3.0.0', expected: 'sha512-pub3.0.0', upstreamUrl: 'http://127.0.0.1:9/p/-/p-3.0.0.tgz', uplink: 'pub' })
    expect(view.distTags).toEqual({ latest: '1.0.0' })
  })
})
