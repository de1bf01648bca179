import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readKeepList } from '../../../src/core/maintenance/index.js'
import { integrityOf, tempStore, bytesOf, type TestStore } from './fixture.js'

describe('readKeepList', () => {
  let t: TestStore
  let dir: string
  beforeEach(async () => {
    t = await tempStore()
    dir = path.dirname(t.root)
  })
  afterEach(() => t.cleanup())

  const lock = (packages: Record<string, unknown>) => JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages: { '': { name: 'app' }, ...packages } })

  it('reads name@version and integrity from package-lock.json v3, aliases and nested copies included', async () => {
    const bytes = bytesOf('left-pad', '1.3.0')
    await mkdir(path.join(dir, 'app'), { recursive: true })
    await writeFile(
      path.join(dir, 'app', 'package-lock.json'),
      lock({
        'node_modules/left-pad': { version: '1.3.0', resolved: 'http://127.0.0.1:4873/left-pad/-/left-pad-1.3.0.tgz', integrity: integrityOf(bytes) },
        'node_modules/a/node_modules/@s/b': { version: '2.0.0', resolved: 'http://127.0.0.1:4873/@s/b/-/b-2.0.0.tgz' },
        'node_modules/old': { name: 'real-name', version: '0.1.0', resolved: 'http://127.0.0.1:4873/real-name/-/real-name-0.1.0.tgz' },
        'node_modules/local': { resolved: 'packages/local', link: true },
      }),
    )
    const keep = await readKeepList(['app/package-lock.json'], dir)
    expect([...keep.specs].sort()).toEqual(['@s/b@2.0.0', 'left-pad@1.3.0', 'real-name@0.1.0'])
    expect([...keep.integrities]).toEqual([integrityOf(bytes)])
    expect(keep.files).toEqual([path.join(dir, 'app', 'package-lock.json')])
  })

  it('expands globs, skipping node_modules', async () => {
    for (const sub of ['one', 'two', 'two/node_modules/x']) {
      await mkdir(path.join(dir, sub), { recursive: true })
      await writeFile(path.join(dir, sub, 'package-lock.json'), lock({ [`node_modules/${sub.split('/')[0]}-dep`]: { version: '1.0.0' } }))
    }
    const keep = await readKeepList(['*/package-lock.json', '**/package-lock.json'], dir)
    expect(keep.files.map((f) => path.relative(dir, f))).toEqual(['one/package-lock.json', 'two/package-lock.json'])
    expect([...keep.specs].sort()).toEqual(['one-dep@1.0.0', 'two-dep@1.0.0'])
  })

  it('reads the lockfiles in a folder, yarn.lock and pnpm-lock.yaml included', async () => {
    const app = path.join(dir, 'app')
    await mkdir(app)
    await writeFile(
      path.join(app, 'yarn.lock'),
      '# yarn lockfile v1\n\n\n"left-pad@^1.3.0":\n  version "1.3.0"\n  resolved "http://127.0.0.1:4873/left-pad/-/left-pad-1.3.0.tgz#5b8a3a7765dfe001261dde915589e782f8c94d1e"\n',
    )
    await writeFile(
      path.join(app, 'pnpm-lock.yaml'),
      "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n      is-odd:\n        specifier: ^3.0.0\n        version: 3.0.1\n\npackages:\n  is-odd@3.0.1:\n    resolution: {integrity: sha512-AAAA}\n\nsnapshots:\n  is-odd@3.0.1: {}\n",
    )
    const keep = await readKeepList(['app'], dir)
    expect([...keep.specs].sort()).toEqual(['is-odd@3.0.1', 'left-pad@1.3.0'])
    expect(keep.files.map((f) => path.basename(f))).toEqual(['pnpm-lock.yaml', 'yarn.lock'])
  })

  it('refuses what it cannot read rather than keep nothing', async () => {
    await expect(readKeepList(['nothing-here/*.json'], dir)).rejects.toMatchObject({ code: 'ENOLOCKFILE' })
    await mkdir(path.join(dir, 'empty'))
    await expect(readKeepList(['empty'], dir)).rejects.toMatchObject({ code: 'ENOLOCKFILE' })
    await writeFile(path.join(dir, 'package-lock.json'), '{broken')
    await expect(readKeepList(['package-lock.json'], dir)).rejects.toMatchObject({ code: 'ELOCKFILE' })
    await writeFile(path.join(dir, 'Gemfile.lock'), 'GEM\n')
    await expect(readKeepList(['Gemfile.lock'], dir)).rejects.toMatchObject({ code: 'ELOCKFILE' })
  })
})
