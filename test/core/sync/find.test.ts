import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findLockfiles } from '../../../src/core/sync/index.js'

describe('findLockfiles', () => {
  let root: string
  const at = (...parts: string[]) => path.join(root, ...parts)

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sinopia-find-'))
    for (const file of [
      'package-lock.json',
      'yarn.lock',
      'packages/a/package-lock.json',
      'packages/b/pnpm-lock.yaml',
      'packages/b/node_modules/dep/package-lock.json',
      'node_modules/x/npm-shrinkwrap.json',
      'notes.txt',
    ]) {
      await mkdir(path.dirname(at(file)), { recursive: true })
      await writeFile(at(file), '')
    }
  })
  afterAll(() => rm(root, { recursive: true, force: true }))

  it('defaults to the lockfiles of the folder', async () => {
    expect(await findLockfiles([], root)).toEqual([at('package-lock.json'), at('yarn.lock')])
  })

  it('takes files, folders and globs, never searching node_modules unless asked', async () => {
    expect(await findLockfiles(['**/package-lock.json'], root)).toEqual([at('package-lock.json'), at('packages/a/package-lock.json')])
    expect(await findLockfiles(['packages/b', 'yarn.lock', 'packages/*/package-lock.json'], root)).toEqual([
      at('packages/a/package-lock.json'),
      at('packages/b/pnpm-lock.yaml'),
      at('yarn.lock'),
    ])
    expect(await findLockfiles(['node_modules/**/npm-shrinkwrap.json'], root)).toEqual([at('node_modules/x/npm-shrinkwrap.json')])
  })

  it('fails with a hint when an argument names nothing', async () => {
    await expect(findLockfiles(['**/bun.lockb'], root)).rejects.toMatchObject({ code: 'ENOLOCKFILE', message: 'no file matches **/bun.lockb' })
    await expect(findLockfiles(['packages'], root)).rejects.toMatchObject({ code: 'ENOLOCKFILE', message: `no lockfile in ${at('packages')}` })
  })
})
