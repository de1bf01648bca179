import { describe, expect, it } from 'vitest'
import { httpUrl, person, repositoryUrl, summarize } from '../../../src/core/search/index.js'
import { packument } from './helpers.js'

describe('summarize', () => {
  it('takes the latest version and what npm search shows', () => {
    const doc = packument(
      'left-pad',
      {
        description: ' Pads strings ',
        keywords: ['pad', 'string', 'pad'],
        author: 'Ann Author <ann@example.com> (https://ann.example)',
        _npmUser: { name: 'ann', email: 'ann@example.com' },
        maintainers: [{ name: 'ann', email: 'ann@example.com' }, { name: 'bo' }],
        homepage: 'https://left-pad.example/',
        repository: { type: 'git', url: 'git+https://git.example/ann/left-pad.git' },
        bugs: { url: 'https://git.example/ann/left-pad/issues' },
      },
      ['1.0.0', '1.1.0'],
    )
    const s = summarize('left-pad', doc, 'local')
    expect(s).toMatchObject({
      name: 'left-pad',
      version: '1.1.0',
      description: 'Pads strings',
      keywords: ['pad', 'string'],
      author: { name: 'Ann Author', email: 'ann@example.com' },
      publisher: { name: 'ann', email: 'ann@example.com' },
      maintainers: [{ name: 'ann', email: 'ann@example.com' }, { name: 'bo' }],
      date: '2024-01-02T00:00:00.000Z',
      links: { homepage: 'https://left-pad.example/', repository: 'https://git.example/ann/left-pad', bugs: 'https://git.example/ann/left-pad/issues' },
      origin: 'local',
      deprecated: false,
    })
    expect(s?.text.all).toBe('left-pad\npad\nstring\npads strings\nann author\nann\nbo')
    expect(s?.text).toMatchObject({ nameEnd: 8, descStart: 20, descEnd: 32 })
  })

  it('follows the latest tag, flags a deprecated latest, splits string keywords', () => {
    const doc = packument('old', { keywords: 'a, b c' }, ['1.0.0', '2.0.0-beta.1'])
    doc['dist-tags'] = { latest: '1.0.0' }
    doc.versions['1.0.0'] = { ...doc.versions['1.0.0'], name: 'old', version: '1.0.0', deprecated: 'use new' }
    const s = summarize('old', doc, 'cached')
    expect(s?.version).toBe('1.0.0')
    expect(s?.deprecated).toBe(true)
    expect(s?.keywords).toEqual(['a', 'b', 'c'])
  })

  it('returns null for a document without versions', () => {
    expect(summarize('empty', { name: 'empty', versions: {} }, 'local')).toBeNull()
  })

  it('never keeps a link that is not http(s)', () => {
    const doc = packument('evil', { homepage: 'javascript:alert(1)', bugs: 'data:text/html,x', repository: 'vbscript:x' })
    expect(summarize('evil', doc, 'cached')?.links).toEqual({})
    expect(httpUrl(' JAVASCRIPT:alert(1)')).toBeUndefined()
    expect(httpUrl('http://ok.example/a b')).toBe('http://ok.example/a%20b')
  })

  it('reads repository URLs in their usual spellings', () => {
    expect(repositoryUrl('git@git.example:o/r.git')).toBe('https://git.example/o/r')
    expect(repositoryUrl('git://git.example/o/r.git')).toBe('https://git.example/o/r')
    expect(repositoryUrl({ url: 'git+ssh://git@git.example/o/r.git' })).toBe('https://git.example/o/r')
    expect(repositoryUrl('o/r')).toBeUndefined()
  })

  it('reads people as strings and objects', () => {
    expect(person('Bo')).toEqual({ name: 'Bo' })
    expect(person({ username: 'cy', email: 'cy@example.com' })).toEqual({ name: 'cy', email: 'cy@example.com' })
    expect(person('  ')).toBeNull()
    expect(person(42)).toBeNull()
  })
})
