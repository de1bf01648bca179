import { describe, expect, it } from 'vitest'
import { fromUplink } from '../../../src/core/registry/view-tasks.js'
import { BASE_TOKEN, instantiate, instantiateBytes } from '../../../src/core/registry/view.js'
import { decodeUpstream, encodeUpstream, type Packument } from '../../../src/core/store/index.js'

/** The byte-level forms of the view tasks: same results as the string forms they replace, less memory. */
const uplinks = { up: { url: 'http://127.0.0.1:9/', tarballOrigins: [] } }
const doc = {
  name: 'pkg',
  'dist-tags': { latest: '1.0.0' },
  versions: { '1.0.0': { name: 'pkg', version: '1.0.0', description: 'ü "x"', dist: { tarball: 'http://127.0.0.1:9/pkg/-/pkg-1.0.0.tgz', shasum: 'a'.repeat(40) } } },
}
const input = (body: string) => ({ body: Buffer.from(body), name: 'pkg', uplink: 'up', upstreamUrl: 'http://127.0.0.1:9/', etag: '"e1"', uplinks })
const record = (d: Packument) => ({ uplink: 'up', upstreamUrl: 'http://127.0.0.1:9/', etag: '"e1"', doc: d })

describe('instantiateBytes', () => {
  it('gives the bytes of instantiate, the base escaped as JSON, wherever the token is', () => {
    const template = `{"a":"${BASE_TOKEN}/x","b":"ü${BASE_TOKEN}${BASE_TOKEN}","c":1}${BASE_TOKEN}`
    for (const base of ['http://h:1/', 'http://h/with "quote" and ü/', '']) {
      expect(instantiateBytes(Buffer.from(template), base).toString()).toBe(instantiate(template, base))
    }
    expect(instantiateBytes(Buffer.from('{"no":"token"}'), 'http://h/').toString()).toBe('{"no":"token"}')
  })
})

describe('fromUplink records', () => {
  it('keeps the bytes the uplink sent when the check leaves the document as it was', () => {
    const sent = JSON.stringify(doc, null, 2)
    const out = fromUplink(input(sent))
    const raw = Buffer.from(out.record)
    expect(raw.includes(Buffer.from(sent))).toBe(true)
    expect(decodeUpstream(raw, 'test')).toEqual(record(doc))
  })

  it('stores the checked document, serialized, when the check changed it', () => {
    const sent = { ...doc, _attachments: { 'pkg-1.0.0.tgz': { data: 'AAAA' } } }
    const out = fromUplink(input(JSON.stringify(sent)))
    expect(Buffer.from(out.record).toString()).toBe(encodeUpstream(record(doc)).toString())
    expect(decodeUpstream(out.record, 'test')).toEqual(record(doc))
  })

  it('serves the same view either way', () => {
    const kept = fromUplink(input(JSON.stringify(doc)))
    const changed = fromUplink(input(JSON.stringify({ ...doc, _attachments: {} })))
    expect(Buffer.from(kept.data.view.full).toString()).toBe(Buffer.from(changed.data.view.full).toString())
    expect(Buffer.from(kept.data.view.abbreviated).toString()).toBe(Buffer.from(changed.data.view.abbreviated).toString())
  })
})
