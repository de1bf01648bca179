import { copyFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, cleanupTempDirs, makeTempDir } from '../helpers/clients.js'
import { runCli } from '../commands/lock-sync-harness.js'

describe('config warnings printed by a command', () => {
  afterAll(cleanupTempDirs)

  it("name each key's file and line once (a Verdaccio config.yaml)", async () => {
    const dir = await makeTempDir()
    const config = path.join(dir, 'config.yaml')
    await copyFile(path.join(REPO_ROOT, 'fixtures', 'config', 'verdaccio.yaml'), config)
    const result = await runCli(['acl', 'list', '--config', config], { cwd: dir })
    expect(result.code).toBe(0)
    const stderr = result.stderr.replace(/\n\s*›\s*/g, ' ')
    expect(stderr).toContain(`${config}:5: plugins: ignored`)
    expect(stderr.split(`${config}:`).length - 1).toBe(stderr.split('Warning:').length - 1)
  })
})
