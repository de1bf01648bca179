import { describe, expect, it } from 'vitest'
import { indexTable, VersionIndex } from '../../../src/core/registry/version-table.js'

/** A table as buildView writes it: version, expected, upstream URL, own file name[, uplink index]. */
const row = (...fields: string[]) => fields.join('\t')

describe('VersionIndex', () => {
  it('finds each row of a big table, and nothing else', () => {
    const rows: string[] = []
    for (let i = 0; i < 5_000; i++) rows.push(row(`1.${i}.0`, `sha512-${i}`, `http://u/p/-/p-1.${i}.0.tgz`, ''))
    const table = rows.join('\n')
    const index = new VersionIndex('p', table, indexTable(table))
    expect(index.size).toBe(5_000)
    for (const i of [0, 1, 777, 4_999]) {
      expect(index.get(`1.${i}.0`)).toEqual({ version: `1.${i}.0`, expected: `sha512-${i}`, upstreamUrl: `http://u/p/-/p-1.${i}.0.tgz` })
    }
    // Prefixes and extensions of versions in the table, and what a field may never hold.
    for (const absent of ['1.5000.0', '1.1', '1.1.0.', '', '1.1.0\tsha512-1', 'sha512-1', '1.1.0\n']) expect(index.has(absent), absent).toBe(false)
    expect([...index.keys()]).toEqual(rows.map((r) => r.split('\t')[0]))
    expect(index.bytes).toBeGreaterThanOrEqual(table.length)
  })

  it('reads empty fields as null, the uplink by its index, and versions outside ASCII', () => {
    const table = [row('1.0.0', '', '', '', ''), row('2.0.0', 'sha512-b', 'http://b/x.tgz', 'x.tgz', '1'), row('3.0.0-ü', 'sha1-c', 'http://a/p-3.tgz', '', '0')].join('\n')
    const index = new VersionIndex('@s/p', table, indexTable(table), ['a', 'b'], [['x.tgz', '2.0.0']])
    expect(index.get('1.0.0')).toEqual({ version: '1.0.0', expected: null, upstreamUrl: null })
    expect(index.get('2.0.0')).toEqual({ version: '2.0.0', expected: 'sha512-b', upstreamUrl: 'http://b/x.tgz', uplink: 'b' })
    expect(index.get('3.0.0-ü')).toEqual({ version: '3.0.0-ü', expected: 'sha1-c', upstreamUrl: 'http://a/p-3.tgz', uplink: 'a' })
    // Conventional file names (the scope left out), then the uplink's own.
    expect(index.byFile('p-1.0.0.tgz')).toBe('1.0.0')
    expect(index.byFile('x.tgz')).toBe('2.0.0')
    expect(index.byFile('p-9.0.0.tgz')).toBeUndefined()
  })

  it('is empty for an empty table', () => {
    const index = new VersionIndex('p', '', indexTable(''))
    expect(index.size).toBe(0)
    expect(index.has('1.0.0')).toBe(false)
    expect([...index.keys()]).toEqual([])
  })

  it('answers a version listed twice with its later row, once', () => {
    const table = [row('1.0.0', 'sha512-old', '', ''), row('2.0.0', '', '', ''), row('1.0.0', 'sha512-new', '', '')].join('\n')
    const index = new VersionIndex('p', table, indexTable(table))
    expect(index.get('1.0.0')?.expected).toBe('sha512-new')
    expect([...index.keys()]).toEqual(['2.0.0', '1.0.0'])
  })
})
