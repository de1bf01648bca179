import { describe, expect, it } from 'vitest'
import { jsonSkeleton } from '../../src/core/json-skeleton.js'

/** What JSON.parse(jsonSkeleton(text, keep)) must equal: the value's shape, as the skeleton's comment says. */
function shapeOf(value: unknown, keep: number, level = 0): unknown {
  if (typeof value === 'string') return ''
  if (typeof value === 'number') return 0
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return level >= keep ? [] : value.map((v) => shapeOf(v, keep, level + 1))
  if (level >= keep) return {}
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v, keep, level + 1)]))
}

const parses = (bytes: Buffer) => {
  try {
    JSON.parse(bytes.toString('utf8'))
    return true
  } catch {
    return false
  }
}

/** Documents with every kind of token: escapes, non-ASCII, numbers of each form, empty and nested containers, odd spacing. */
const SAMPLES = [
  '{"name":"a","versions":{"1.0.0":{"dist":{"tarball":"http://x/a.tgz","integrity":"sha512-AA=="},"n":[1,-2.5e+3,0,-0,1E-7]}},"time":{}}',
  ' \t\r\n[ true , false , null , "" , [ ] , { } , [[[]]] , {"a":{"b":{"c":{}}}} ] \n',
  '{"esc":"q\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\uD83D\\ude00","ключ":"значение ✓ 😀","":""}',
  '"just a string"',
  '-12.5e10',
  '{"a":[{"b":[{"c":[1,2,{"d":"e"}]}]}],"z":0.5}',
  '{"dup":1,"dup":{"x":[true]}}',
]

/** A small deterministic PRNG (mulberry32): the same mutations every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('jsonSkeleton', () => {
  it('keeps every key and type down to the level asked, and nothing below', () => {
    for (const text of SAMPLES) {
      for (const keep of [0, 1, 2, 3, 5, 50]) {
        const skeleton = jsonSkeleton(Buffer.from(text), keep)
        expect(skeleton, `${text} at ${keep}`).not.toBeNull()
        expect(JSON.parse(skeleton as string)).toEqual(shapeOf(JSON.parse(text), keep))
        expect(Buffer.byteLength(skeleton as string)).toBeLessThanOrEqual(Buffer.byteLength(text))
      }
    }
    expect(jsonSkeleton(Buffer.from('{"doc":{"versions":{"1.0.0":{"name":"x"}}},"etag":"e"}'), 2)).toBe('{"doc":{"versions":{}},"etag":""}')
  })

  it('refuses exactly what JSON.parse refuses, over thousands of mutated documents', () => {
    const random = prng(13)
    const alphabet = Buffer.from(' \t\n{}[]:,"\\/-+.0123456789eEtrufalsn\u0001abcx')
    let refused = 0
    for (let round = 0; round < 6000; round++) {
      const bytes = Buffer.from(SAMPLES[round % SAMPLES.length] as string)
      let mutated: Buffer
      const at = Math.floor(random() * bytes.length)
      const pick = () => alphabet[Math.floor(random() * alphabet.length)] as number
      switch (round % 4) {
        case 0: // one byte changed
          mutated = Buffer.from(bytes)
          mutated[at] = pick()
          break
        case 1: // one byte inserted
          mutated = Buffer.concat([bytes.subarray(0, at), Buffer.from([pick()]), bytes.subarray(at)])
          break
        case 2: // one byte deleted
          mutated = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)])
          break
        default: // cut short, or a byte outside ASCII (a broken UTF-8 sequence inside or outside a string)
          mutated = random() < 0.5 ? bytes.subarray(0, at) : Buffer.concat([bytes.subarray(0, at), Buffer.from([0x80 + Math.floor(random() * 0x7f)]), bytes.subarray(at)])
      }
      const skeleton = jsonSkeleton(mutated, 2)
      expect(skeleton !== null, `${JSON.stringify(mutated.toString('latin1'))}`).toBe(parses(mutated))
      if (skeleton === null) refused++
      else expect(JSON.parse(skeleton)).toEqual(shapeOf(JSON.parse(mutated.toString('utf8')), 2))
    }
    // The mutations are mostly breaking ones: the comparison covered both answers.
    expect(refused).toBeGreaterThan(2000)
    expect(refused).toBeLessThan(6000)
  })

  it('agrees with JSON.parse on every short sequence of tokens, valid and broken ones', () => {
    // Tokens, and pieces of tokens, that JSON's grammar tells apart: every sequence of up to
    // three is tried (with and without a space after), tens of thousands of texts, each both ways.
    const tokens = ['{', '}', '[', ']', ',', ':', '"a"', '"', '\\', '"\\x"', '"\\u00e9"', '"\\u12g4"', '"\\/"', '1', '-', '0', '01', '1.', '.5', '1e', 'e5', '+', '2.5E-3', 'true', 'nul', 'null', '\u0001', '\u00e9']
    let accepted = 0
    let texts = 0
    const walk = (text: string, left: number) => {
      for (const spacing of ['', ' ']) {
        const bytes = Buffer.from(text.length ? text + spacing : text)
        const skeleton = jsonSkeleton(bytes, 1)
        expect(skeleton !== null, JSON.stringify(text)).toBe(parses(bytes))
        if (skeleton !== null) accepted++
        texts++
      }
      if (left === 0) return
      for (const token of tokens) walk(text + token, left - 1)
    }
    walk('', 3)
    expect(texts).toBeGreaterThan(40_000)
    expect(accepted).toBeGreaterThan(250)
  })

  it('refuses empty input, a byte-order mark, two values, and stray bytes after one', () => {
    for (const text of ['', '   ', '\ufeff{}', '{} {}', '1 2', '{}x', '[1,]', '{"a":1,}', '{"a"}', '01', '1.', '.5', '+1', '"\t"', 'tru', 'nulls', '"\\x"', '"\\u12"', '1.e5', '1e+', '--1', "{'a':1}", '{1:2}', 'NaN', '-Infinity']) {
      expect(jsonSkeleton(Buffer.from(text), 3), JSON.stringify(text)).toBeNull()
      expect(parses(Buffer.from(text))).toBe(false)
    }
  })

  it('follows nesting of any depth without using the stack', () => {
    const depth = 200_000
    const deep = Buffer.from(`${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`)
    expect(jsonSkeleton(deep, 2)).toBe('[{"a":[]}]')
    expect(jsonSkeleton(deep.subarray(0, deep.length - 1), 2)).toBeNull()
  })

  it('writes the skeletons of documents past its first buffer and past the one it grows to, each whole', () => {
    for (const bytes of [200 * 1024, 3 * 1024 * 1024]) {
      const doc = JSON.stringify({ doc: { versions: { '1.0.0': { readme: 'x'.repeat(bytes) } }, keywords: ['y'.repeat(bytes)] }, etag: 'e' })
      expect(jsonSkeleton(Buffer.from(doc), 3)).toBe('{"doc":{"versions":{"1.0.0":{}},"keywords":[""]},"etag":""}')
      expect(jsonSkeleton(Buffer.from('{"a":[1]}'), 1)).toBe('{"a":[]}')
    }
  })
})
