import { readFileSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  editConfigFile, listRules, removeRule, removeRuleFromFile, setRule, setRuleInFile,
} from '../../../src/core/config/edit.js'
import { defaultConfigText, parseConfig } from '../../../src/core/config/index.js'
import { SinopiaError } from '../../../src/core/errors.js'

const FILE = '/etc/sinopia/config.yaml'
const VERDACCIO = fileURLToPath(new URL('../../../fixtures/config/verdaccio.yaml', import.meta.url))

/** A config as a person edits it: comments everywhere, aligned inline comments, a legacy rule with a flow list. */
const HAND_EDITED = `# Team registry.   Ask #infra before changing.
storage: ./storage     # next to this file

uplinks:
  npmjs:
    url: http://127.0.0.1:9/
    # maxage: 10m
  mirror:
    url: http://127.0.0.1:8/
# ^ the mirror is read-only

packages:
  # Our scope: only logged-in users.
  '@acme/*':
    access: $authenticated   # not public!
    publish: alice bob
    proxy: npmjs

  # Old Sinopia spelling, kept on purpose.
  'legacy-*':
    allow_access: [alice, carol]
    allow_publish: alice
    proxy_access: mirror

  # Everything else.
  '**':
    access: $all
    publish: $authenticated
    proxy: npmjs   # public packages
# End of rules.

log: { level: warn }   # quiet
`

/** `text` with `lines` inserted before its line number `at` (1-based). */
function insertLines(text: string, at: number, lines: string[]): string {
  const all = text.split('\n')
  all.splice(at - 1, 0, ...lines)
  return all.join('\n')
}

/** `text` with `count` lines removed from line number `at` (1-based). */
function dropLines(text: string, at: number, count: number): string {
  const all = text.split('\n')
  all.splice(at - 1, count)
  return all.join('\n')
}

function lineOf(text: string, line: string): number {
  const index = text.split('\n').indexOf(line)
  if (index === -1) throw new Error(`no line ${JSON.stringify(line)}`)
  return index + 1
}

function thrown(fn: () => unknown): SinopiaError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SinopiaError)
    return error as SinopiaError
  }
  throw new Error('expected an error')
}

describe('setRule', () => {
  it('puts a new rule before the first rule that would take its names, touching no other line', () => {
    const out = setRule(HAND_EDITED, 'secret-*', { access: ['$authenticated'], publish: ['$authenticated'] }, { file: FILE })
    const at = lineOf(HAND_EDITED, '  # Everything else.')
    expect(out).toBe(insertLines(HAND_EDITED, at, ["  'secret-*':", '    access: $authenticated', '    publish: $authenticated', '']))
    expect(listRules(out, FILE).map((r) => r.pattern)).toEqual(['@acme/*', 'legacy-*', 'secret-*', '**'])
  })

  it('puts a scoped pattern before a broader scope glob', () => {
    const text = defaultConfigText('http://127.0.0.1:9/')
    const out = setRule(text, '@acme/*', { access: ['$authenticated'], publish: ['alice'] }, { file: FILE })
    expect(out).toBe(insertLines(text, lineOf(text, "  '@*/*':"), ["  '@acme/*':", '    access: $authenticated', '    publish: alice']))
  })

  it('appends a rule that no existing rule would take, after the last rule and before the comments that follow it', () => {
    const text = HAND_EDITED.replace("\n  # Everything else.\n  '**':\n    access: $all\n    publish: $authenticated\n    proxy: npmjs   # public packages\n", '')
    const out = setRule(text, 'other', { access: ['$all'], publish: ['alice'], proxy: ['mirror'] }, { file: FILE })
    expect(listRules(out, FILE).map((r) => r.pattern)).toEqual(['@acme/*', 'legacy-*', 'other'])
    expect(out).toBe(insertLines(text, lineOf(text, '# End of rules.'), ['', "  'other':", '    access: $all', '    publish: alice', '    proxy: mirror']))
  })

  it('changes only the given keys of an existing rule, in place, keeping the inline comment', () => {
    const out = setRule(HAND_EDITED, '@acme/*', { access: ['$all'], unpublish: ['alice'] }, { file: FILE })
    const expected = HAND_EDITED
      .replace('    access: $authenticated   # not public!', '    access: $all   # not public!')
      .replace('    proxy: npmjs\n\n  # Old', '    proxy: npmjs\n    unpublish: alice\n\n  # Old')
    expect(out).toBe(expected)
    expect(listRules(out, FILE)[0]).toEqual({ pattern: '@acme/*', access: ['$all'], publish: ['alice', 'bob'], unpublish: ['alice'], proxy: ['npmjs'] })
  })

  it('keeps legacy key names and list style', () => {
    const out = setRule(HAND_EDITED, 'legacy-*', { access: ['alice dave', 'erin'], publish: ['$authenticated'] }, { file: FILE })
    expect(out).toBe(HAND_EDITED.replace('allow_access: [alice, carol]', 'allow_access: [alice, dave, erin]').replace('allow_publish: alice', 'allow_publish: $authenticated'))
  })

  it('quotes what YAML needs quoted, and nothing else', () => {
    const out = setRule(HAND_EDITED, '**', { publish: ['@authenticated'] }, { file: FILE })
    expect(out).toBe(HAND_EDITED.replace('    publish: $authenticated\n    proxy: npmjs   #', '    publish: "@authenticated"\n    proxy: npmjs   #'))
    expect(listRules(out, FILE).at(-1)?.publish).toEqual(['@authenticated'])
  })

  it('quotes a new pattern the way the file quotes its patterns', () => {
    const text = 'packages:\n  "@*/*":\n    access: $all\n    publish: $all\n  "**":\n    access: $all\n    publish: $all\n'
    expect(setRule(text, 'x-*', { access: ['$all'], publish: ['$all'] }, { file: FILE })).toBe(insertLines(text, 5, ['  "x-*":', '    access: $all', '    publish: $all']))
  })

  it('--before places a new rule, and moves an existing one with its comment', () => {
    const added = setRule(HAND_EDITED, 'zeta', { access: ['$all'], publish: ['alice'] }, { file: FILE, before: '@acme/*' })
    expect(listRules(added, FILE).map((r) => r.pattern)).toEqual(['zeta', '@acme/*', 'legacy-*', '**'])
    // The comment above '@acme/*' stays with it.
    expect(added).toBe(insertLines(HAND_EDITED, lineOf(HAND_EDITED, '  # Our scope: only logged-in users.'), ["  'zeta':", '    access: $all', '    publish: alice', '']))

    const moved = setRule(HAND_EDITED, 'legacy-*', {}, { file: FILE, before: '@acme/*' })
    expect(listRules(moved, FILE).map((r) => r.pattern)).toEqual(['legacy-*', '@acme/*', '**'])
    const acme = HAND_EDITED.slice(HAND_EDITED.indexOf('  # Our scope'), HAND_EDITED.indexOf('\n  # Old Sinopia'))
    const legacy = HAND_EDITED.slice(HAND_EDITED.indexOf('  # Old Sinopia'), HAND_EDITED.indexOf('\n  # Everything'))
    expect(moved).toBe(HAND_EDITED.replace(`${acme}\n${legacy}`, `${legacy}\n${acme}`))

    expect(thrown(() => setRule(HAND_EDITED, 'x', { access: ['$all'], publish: ['$all'] }, { before: 'nope' })).code).toBe('ENORULE')
  })

  it('--no-proxy (null) removes proxy and its legacy name: a full fork', () => {
    const out = setRule(HAND_EDITED, 'legacy-*', { proxy: null }, { file: FILE })
    expect(out).toBe(dropLines(HAND_EDITED, lineOf(HAND_EDITED, '    proxy_access: mirror'), 1))
    expect(listRules(out, FILE)[1]?.proxy).toEqual([])
    const both = setRule(HAND_EDITED, '**', { proxy: null }, { file: FILE })
    expect(listRules(both, FILE).at(-1)?.proxy).toEqual([])
    expect(both).toContain("    publish: $authenticated\n# End of rules.\n")
  })

  it('sets a proxy order', () => {
    const out = setRule(HAND_EDITED, '**', { proxy: ['mirror', 'npmjs'] }, { file: FILE })
    expect(out).toBe(HAND_EDITED.replace('proxy: npmjs   # public', 'proxy: mirror npmjs   # public'))
  })

  it('rejects a proxy naming an unknown uplink, with the uplinks that exist', () => {
    const error = thrown(() => setRule(HAND_EDITED, '**', { proxy: ['npmjs', 'nope'] }, { file: FILE }))
    expect(error.code).toBe('ECONFIG')
    expect(error.message).toContain('"nope"')
    expect(error.hint).toContain('npmjs, mirror')
  })

  it('rejects a new rule without access or publish, an unknown $group and an empty change', () => {
    expect(thrown(() => setRule(HAND_EDITED, 'new-*', { access: ['$all'] })).code).toBe('EBADRULE')
    const typo = thrown(() => setRule(HAND_EDITED, 'new-*', { access: ['$authenticted'], publish: ['$all'] }))
    expect(typo.message).toContain('$authenticted')
    expect(thrown(() => setRule(HAND_EDITED, '**', {})).code).toBe('EBADRULE')
    expect(thrown(() => setRule(HAND_EDITED, '  ', { access: ['$all'], publish: ['$all'] })).code).toBe('EBADRULE')
  })

  it('writes out the implicit default rules before adding to a file without packages', () => {
    const text = 'uplinks:\n  npmjs:\n    url: http://127.0.0.1:9/\n'
    const before = listRules(text, FILE)
    const out = setRule(text, 'secret-*', { access: ['$authenticated'], publish: ['$authenticated'] }, { file: FILE })
    expect(listRules(out, FILE)).toEqual([before[0], { pattern: 'secret-*', access: ['$authenticated'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] }, before[1]])
  })

  it('refuses to edit a rule shared through an anchor', () => {
    const text = "packages:\n  'a': &base\n    access: $all\n    publish: $all\n  'b': *base\n"
    expect(thrown(() => setRule(text, 'b', { access: ['alice'] })).code).toBe('EBADRULE')
    expect(thrown(() => setRule(text, 'a', { access: ['alice'] })).code).toBe('EBADRULE')
  })

  it('keeps a 4-space layout, and lists not indented under their key', () => {
    const four = "packages:\n    '**':\n        access: $all\n        publish: $all\n        proxy:\n            - npmjs\nuplinks:\n    npmjs:\n        url: http://127.0.0.1:9/\n"
    expect(setRule(four, 'x-*', { access: ['$all'], publish: ['alice'] }, { file: FILE }))
      .toBe(insertLines(four, 2, ["    'x-*':", '        access: $all', '        publish: alice']))
    const flat = "packages:\n  '**':\n    access: $all\n    publish: $all\n    proxy:\n    - npmjs\nuplinks:\n  npmjs:\n    url: http://127.0.0.1:9/\n"
    expect(setRule(flat, '**', { access: ['alice'] }, { file: FILE })).toBe(flat.replace('access: $all', 'access: alice'))
  })

  it('leaves the default config and a Verdaccio config as they were outside the new lines', () => {
    const verdaccio = readFileSync(VERDACCIO, 'utf8')
    const out = setRule(verdaccio, 'internal-*', { access: ['$authenticated'], publish: ['admin'] }, { file: VERDACCIO })
    expect(out).toBe(insertLines(verdaccio, lineOf(verdaccio, "  '**':"), ["  'internal-*':", '    access: $authenticated', '    publish: admin']))
    const text = defaultConfigText('http://127.0.0.1:9/')
    expect(removeRule(setRule(text, 'y', { access: ['$all'], publish: ['$all'] }, { file: FILE }), 'y', { file: FILE })).toBe(text)
  })
})

describe('removeRule', () => {
  it('removes the rule with its own comment, and nothing else', () => {
    const out = removeRule(HAND_EDITED, 'legacy-*', { file: FILE })
    const from = lineOf(HAND_EDITED, '  # Old Sinopia spelling, kept on purpose.')
    expect(out).toBe(dropLines(HAND_EDITED, from - 1, 6))
    expect(listRules(out, FILE).map((r) => r.pattern)).toEqual(['@acme/*', '**'])
  })

  it('is an ENORULE error, listing the patterns, when there is no such rule', () => {
    const error = thrown(() => removeRule(HAND_EDITED, 'nope', { file: FILE }))
    expect(error.code).toBe('ENORULE')
    expect(error.hint).toBe("the patterns are: '@acme/*', 'legacy-*', '**'")
  })
})

describe('editConfigFile', () => {
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-edit-'))
    file = path.join(dir, 'config.yaml')
    await writeFile(file, HAND_EDITED)
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes the edited text, keeps the mode, and reports where the rule went', async () => {
    await chmod(file, 0o600)
    const place = await setRuleInFile(file, 'secret-*', { access: ['$authenticated'], publish: ['$authenticated'] })
    expect(place).toMatchObject({ created: true, index: 2, next: '**', shadowedBy: null, file })
    expect(parseConfig(await readFile(file, 'utf8'), file).config.packages[2]?.pattern).toBe('secret-*')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const hidden = await setRuleInFile(file, '@acme/tools', { access: ['$all'], publish: ['$all'] }, '**')
    expect(hidden).toMatchObject({ created: true, next: '**', shadowedBy: '@acme/*' })
  })

  it('writes nothing when the result would be invalid', async () => {
    const before = await stat(file)
    await expect(setRuleInFile(file, '**', { proxy: ['nope'] })).rejects.toMatchObject({ code: 'ECONFIG' })
    await expect(editConfigFile(file, (text) => text.replace('max_body_size', 'x').replace('log: { level: warn }', 'log: { level: loud }'))).rejects.toMatchObject({
      code: 'ECONFIG',
      message: expect.stringContaining('nothing was written') as string,
    })
    expect(await readFile(file, 'utf8')).toBe(HAND_EDITED)
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs)
  })

  it('does not create a missing file', async () => {
    const missing = path.join(dir, 'none.yaml')
    await expect(removeRuleFromFile(missing, '**')).rejects.toMatchObject({ code: 'ECONFIG', message: `no config file at ${missing}` })
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('loses no update when edits race', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `pkg-${i}`)
    await Promise.all(names.map((name) => setRuleInFile(file, name, { access: ['$all'], publish: ['alice'] })))
    const patterns = listRules(await readFile(file, 'utf8'), file).map((r) => r.pattern)
    expect(patterns.filter((p) => p.startsWith('pkg-')).sort()).toEqual(names)
  })
})
