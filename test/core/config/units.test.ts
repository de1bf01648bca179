import { describe, expect, it } from 'vitest'
import { parseDuration, parseSize } from '../../../src/core/config/index.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1w', 7 * 86_400_000],
    ['1M', 30 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1h 30m', 5_400_000],
    ['  1m   30s ', 90_000],
    ['1.5s', 1500],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it('reads a bare number as seconds, as Verdaccio does', () => {
    expect(parseDuration(30)).toBe(30_000)
    expect(parseDuration('30')).toBe(30_000)
    expect(parseDuration(0.5)).toBe(500)
  })

  it('accepts Infinity', () => {
    expect(parseDuration('Infinity')).toBe(Infinity)
    expect(parseDuration('inf')).toBe(Infinity)
    expect(parseDuration(Infinity)).toBe(Infinity)
  })

  it.each(['', 'abc', '-1s', '10x', '1h 30', '1 h', '30S', 's', '1h,30m'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/)
  })

  it('refuses negative numbers and NaN', () => {
    expect(() => parseDuration(-1)).toThrow(/invalid duration/)
    expect(() => parseDuration(Number.NaN)).toThrow(/invalid duration/)
  })
})

describe('parseSize', () => {
  it.each([
    ['100b', 100],
    ['512kb', 512 * 1024],
    ['10mb', 10 * 1024 ** 2],
    ['1gb', 1024 ** 3],
    ['20GB', 20 * 1024 ** 3],
    ['1Mb', 1024 ** 2],
    ['1.5kb', 1536],
    ['10 mb', 10 * 1024 ** 2],
    ['2048', 2048],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  it('reads a bare number as bytes', () => {
    expect(parseSize(1000)).toBe(1000)
  })

  it.each(['', 'big', '-1mb', '10m', '10 megabytes', '1e3'])('refuses %j', (text) => {
    expect(() => parseSize(text)).toThrow(/invalid size/)
  })

  it('refuses negative and infinite numbers', () => {
    expect(() => parseSize(-1)).toThrow(/invalid size/)
    expect(() => parseSize(Infinity)).toThrow(/invalid size/)
  })
})
