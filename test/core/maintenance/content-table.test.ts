import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ContentTable } from '../../../src/core/maintenance/content-table.js'

const integrityOf = (bytes: Buffer | string) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`

describe('ContentTable', () => {
  it('holds a value per content, 0 for one it never saw', () => {
    const table = new ContentTable()
    const a = integrityOf('a')
    const b = integrityOf('b')
    expect(table.get(a)).toBe(0)
    expect(table.add(a, 1)).toBe(1)
    expect(table.add(a, 1)).toBe(2)
    expect(table.mark(b, 4)).toBe(4)
    expect(table.mark(b, 1)).toBe(5)
    expect(table.get(a)).toBe(2)
    expect(table.get(b)).toBe(5)
    expect(table.add(a, -2)).toBe(0)
    expect(table.get(a)).toBe(0)
    expect([...table.eachValue()].sort()).toEqual([0, 5])
  })

  it.each([{ narrow: false }, { narrow: true }])('answers as a Map of whole integrities would, across growth from its smallest size (%o)', (options) => {
    const table = new ContentTable(0, options)
    const reference = new Map<string, number>()
    const contents = Array.from({ length: 3000 }, () => integrityOf(randomBytes(8)))
    for (let i = 0; i < 20_000; i++) {
      const integrity = contents[(i * 7919) % contents.length] as string
      const value = i % 3 === 0 ? table.mark(integrity, 1 << i % 5) : table.add(integrity, 1)
      reference.set(integrity, i % 3 === 0 ? (reference.get(integrity) ?? 0) | (1 << i % 5) : (reference.get(integrity) ?? 0) + 1)
      expect(value).toBe(reference.get(integrity))
    }
    for (const integrity of contents) expect(table.get(integrity)).toBe(reference.get(integrity) ?? 0)
    expect([...table.eachValue()].sort()).toEqual([...reference.values()].sort())
  })

  it('tells apart digests that share their first 30 bits, and ones that share all but the last bits it reads', () => {
    const table = new ContentTable()
    // Same first word (chars 7..11): they probe past each other, wrapping round the end of the table.
    const alike = Array.from({ length: 40 }, (_, i) => `sha512-/////${String(i).padStart(10, 'A').replace(/\d/g, (d) => 'abcdefghij'[Number(d)] as string)}${'A'.repeat(71)}==`)
    alike.forEach((integrity, i) => table.set(integrity, i + 1))
    alike.forEach((integrity, i) => expect(table.get(integrity)).toBe(i + 1))
    const last = `sha512-${'B'.repeat(14)}C${'A'.repeat(71)}==`
    expect(table.get(`sha512-${'B'.repeat(15)}${'A'.repeat(71)}==`)).toBe(0)
    table.set(last, 9)
    expect(table.get(`sha512-${'B'.repeat(15)}${'A'.repeat(71)}==`)).toBe(0)
    expect(table.get(last)).toBe(9)
  })

  it('keeps any other string by its whole text', () => {
    const table = new ContentTable()
    table.add('sha1-abc', 1)
    table.add('a', 3)
    table.add(`sha512-${'*'.repeat(86)}==`, 2)
    expect(table.get('sha1-abc')).toBe(1)
    expect(table.get('a')).toBe(3)
    expect(table.get(`sha512-${'*'.repeat(86)}==`)).toBe(2)
    expect(table.get(`sha512-${'*'.repeat(85)}==`)).toBe(0)
    expect([...table.eachValue()].sort()).toEqual([1, 2, 3])
  })

  it('takes a size hint it cannot trust (a count file edited by hand) as no more than a bound', () => {
    for (const hint of [1e12, Number.NaN, -5, Infinity]) {
      const table = new ContentTable(hint)
      table.add(integrityOf('a'), 1)
      expect(table.get(integrityOf('a'))).toBe(1)
    }
  })

  it('refuses a value it cannot hold', () => {
    const table = new ContentTable()
    expect(() => table.add(integrityOf('a'), -1)).toThrow(RangeError)
    expect(() => table.set(integrityOf('a'), 2 ** 31)).toThrow(RangeError)
    expect(table.get(integrityOf('a'))).toBe(0)
    const narrow = new ContentTable(0, { narrow: true })
    narrow.set(integrityOf('a'), 127)
    expect(() => narrow.set(integrityOf('b'), 128)).toThrow(RangeError)
    expect(narrow.get(integrityOf('a'))).toBe(127)
    expect(narrow.get(integrityOf('b'))).toBe(0)
    expect([...narrow.eachValue()]).toEqual([127])
  })
})
