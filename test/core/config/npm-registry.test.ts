import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { npmRegistryUrl } from '../../../src/core/config/index.js'
import { SinopiaError } from '../../../src/core/errors.js'

// A fake `npm` first on PATH, so the test neither needs npm's real config nor the network.
describe.skipIf(process.platform === 'win32')('npmRegistryUrl', () => {
  let dir: string
  let savedPath: string | undefined
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-npm-'))
    savedPath = process.env.PATH
    process.env.PATH = dir
  })
  afterEach(async () => {
    process.env.PATH = savedPath
    await rm(dir, { recursive: true, force: true })
  })

  async function fakeNpm(script: string): Promise<void> {
    await writeFile(path.join(dir, 'npm'), `#!/bin/sh\n${script}\n`)
    await chmod(path.join(dir, 'npm'), 0o755)
  }

  it('returns what `npm config get registry` prints, trimmed', async () => {
    await fakeNpm('[ "$1 $2 $3" = "config get registry" ] && echo "  https://registry.example.org/  "')
    expect(await npmRegistryUrl()).toBe('https://registry.example.org/')
  })

  it('fails with a hint when npm prints nothing', async () => {
    await fakeNpm('exit 0')
    await expect(npmRegistryUrl()).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/printed nothing/) })
  })

  it('fails with a hint when npm is missing', async () => {
    const error = await npmRegistryUrl().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(SinopiaError)
    expect(error).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/not installed/) })
    expect((error as SinopiaError).hint).toMatch(/install npm/)
  })
})
