import { describe, expect, it } from 'vitest'
import { checkUpstream, decodeUpstream } from '../../../src/core/store/index.js'

/** How a check ends: 'ok', or the code and message of what it threw. */
function outcome(check: () => unknown): string {
  try {
    check()
    return 'ok'
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`
  }
}

describe('checkUpstream', () => {
  const doc = { name: 'a', versions: { '1.0.0': { name: 'a', version: '1.0.0', dist: { tarball: 'http://127.0.0.1:9/a.tgz' } } } }
  const part = { uplink: 'one', upstreamUrl: 'http://127.0.0.1:9/', doc }
  // Records that read and records that do not, down to the deepest level decodeUpstream looks at.
  const records: Array<[string, string]> = [
    ['one uplink', JSON.stringify({ uplink: 'one', upstreamUrl: 'http://127.0.0.1:9/', etag: '"e"', doc })],
    ['parts', JSON.stringify({ uplink: 'one', upstreamUrl: 'u', doc, parts: [part, { ...part, uplink: 'two' }] })],
    ['no doc', JSON.stringify({ uplink: 'one', upstreamUrl: 'u' })],
    ['versions not an object', JSON.stringify({ uplink: 'one', doc: { ...doc, versions: 'none' } })],
    ['doc null', JSON.stringify({ uplink: 'one', doc: null })],
    ['empty parts', JSON.stringify({ uplink: 'one', doc, parts: [] })],
    ['parts an object', JSON.stringify({ uplink: 'one', doc, parts: { 0: part } })],
    ['parts a string', JSON.stringify({ uplink: 'one', doc, parts: 'x' })],
    ['parts null', JSON.stringify({ uplink: 'one', doc, parts: null })],
    ['a part without versions', JSON.stringify({ uplink: 'one', doc, parts: [part, { ...part, doc: { name: 'a' } }] })],
    ["a part's versions a number", JSON.stringify({ uplink: 'one', doc, parts: [{ ...part, doc: { versions: 3 } }] })],
    ['a part without its uplink', JSON.stringify({ uplink: 'one', doc, parts: [{ upstreamUrl: 'u', doc }] })],
    ['not an object', '[1,2]'],
    ['null', 'null'],
    ['cut short', JSON.stringify({ uplink: 'one', doc }).slice(0, -3)],
    ['empty', ''],
  ]

  it('answers as decodeUpstream does, error and message alike', () => {
    for (const [what, text] of records) {
      const raw = Buffer.from(text)
      expect(outcome(() => checkUpstream(raw, 'x/upstream.json')), what).toBe(outcome(() => decodeUpstream(raw, 'x/upstream.json')))
    }
    expect(outcome(() => checkUpstream(Buffer.from(records[0]?.[1] as string), 'x'))).toBe('ok')
    expect(outcome(() => checkUpstream(Buffer.from(records[9]?.[1] as string), 'x'))).toBe('ECORRUPT: x holds no packument')
    expect(outcome(() => checkUpstream(Buffer.from(''), 'x'))).toBe('ECORRUPT: x is not valid JSON')
  })
})
