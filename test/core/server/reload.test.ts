import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { topLevelKeys } from '../../../src/core/config/source.js'
import { refuseReload, settledRead, type FileRead } from '../../../src/core/server/reload.js'
import { dedent, FILE } from '../config/helpers.js'

/** What a reload decides about a file read from disk: refuseReload with the keys it sets, and the settled read. */
describe('refuseReload', () => {
  const RUNNING = `
    uplinks:
      npmjs:
        url: http://127.0.0.1:9/
    packages:
      'private-*':
        access: $authenticated
        publish: $authenticated
      '**':
        access: $all
        proxy: npmjs
  `
  const decide = (runningText: string, nextText: string) => {
    const running = parseConfig(dedent(runningText), FILE).config
    const text = nextText.trim() === '' ? nextText : dedent(nextText)
    return refuseReload(running, parseConfig(text, FILE).config, topLevelKeys(text, FILE))
  }

  it('refuses an empty file, and one with only comments', () => {
    expect(decide(RUNNING, '')?.reason).toBe(`${FILE} is empty`)
    expect(decide(RUNNING, '# nothing yet\n')?.reason).toBe(`${FILE} is empty`)
  })

  it('refuses a file that lost its uplinks: key, or has it with nothing after it (cut off there)', () => {
    const withoutUplinks = `
      packages:
        '**':
          access: $all
    `
    expect(decide(RUNNING, withoutUplinks)?.reason).toBe(`${FILE} has no uplinks: key any more, the server has npmjs`)
    expect(decide(RUNNING, `uplinks:\n${dedent(withoutUplinks)}`)?.reason).toMatch(/has no uplinks: key/)
    expect(decide(RUNNING, `listen: 127.0.0.1:4873\nuplinks:\n`)?.hint).toMatch(/uplinks: \{\}/)
  })

  it('refuses a file that lost its packages: key when the default rules differ from the running ones', () => {
    const refused = decide(RUNNING, 'uplinks:\n  npmjs:\n    url: http://127.0.0.1:9/\n')
    expect(refused?.reason).toBe(`${FILE} has no packages: key any more, which would replace the access rules with the defaults`)
  })

  it('applies a file without packages: when the running rules are the defaults too', () => {
    const defaults = 'uplinks:\n  npmjs:\n    url: http://127.0.0.1:9/\n'
    expect(decide(defaults, `${defaults}max_body_size: 1mb\n`)).toBeNull()
  })

  it('applies explicit empty values: uplinks: {} (air-gapped) and packages: {}', () => {
    expect(decide(RUNNING, "uplinks: {}\npackages:\n  '**':\n    access: $all\n")).toBeNull()
    expect(decide(RUNNING, 'uplinks: {}\npackages: {}\n')).toBeNull()
  })

  it('applies a file without uplinks: to a server that has none (an air-gapped registry)', () => {
    const airGapped = "packages:\n  '**':\n    access: $all\n"
    expect(decide(airGapped, "packages:\n  '**':\n    access: $authenticated\n")).toBeNull()
  })

  it('applies an ordinary change', () => {
    expect(decide(RUNNING, `${RUNNING}\n    max_body_size: 1mb\n`)).toBeNull()
  })
})

describe('settledRead', () => {
  const script = (texts: Array<string | null>) => {
    let reads = 0
    let waits = 0
    const read = (): Promise<FileRead> => {
      const text = texts[Math.min(reads, texts.length - 1)] ?? null
      reads++
      return Promise.resolve({ text, signature: `sig${reads}` })
    }
    const wait = () => {
      waits++
      return Promise.resolve()
    }
    return { read, wait, counts: () => ({ reads, waits }) }
  }

  it('returns the second of two reads that agree, with that read’s signature', async () => {
    const file = script(['a: 1\n', 'a: 1\n'])
    expect(await settledRead(file.read, file.wait)).toEqual({ text: 'a: 1\n', signature: 'sig2' })
    expect(file.counts()).toEqual({ reads: 2, waits: 1 })
  })

  it('reads on while a write is in progress (empty, then part, then whole)', async () => {
    const file = script(['', 'storage: ./s\n', 'storage: ./s\npackages: {}\n', 'storage: ./s\npackages: {}\n'])
    expect(await settledRead(file.read, file.wait)).toEqual({ text: 'storage: ./s\npackages: {}\n', signature: 'sig4' })
  })

  it('gives up (null) when the file keeps changing', async () => {
    const file = script(Array.from({ length: 30 }, (_, i) => `n: ${i}\n`))
    expect(await settledRead(file.read, file.wait, 5)).toBeNull()
    expect(file.counts()).toEqual({ reads: 5, waits: 4 })
  })

  it('a missing file that stays missing is settled too (the caller reports it)', async () => {
    const file = script([null, null])
    expect(await settledRead(file.read, file.wait)).toEqual({ text: null, signature: 'sig2' })
  })
})
