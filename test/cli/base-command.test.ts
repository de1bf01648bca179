import { copyFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, cleanupTempDirs, isolatedBaseEnv, makeTempDir, runProcess } from '../helpers/clients.js'
import { BIN, runCli } from '../commands/lock-sync-harness.js'

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

describe('the bin entry', () => {
  afterAll(cleanupTempDirs)

  // oclif looks for TypeScript sources when NODE_ENV is "test" (every server a test spawns): it
  // loaded the whole compiler, 0.4 s per command and a heap that made the server's GC pauses longer.
  it('runs the built code without loading TypeScript, whatever NODE_ENV says', async () => {
    const dir = await makeTempDir()
    const probe = path.join(dir, 'probe.cjs')
    await writeFile(probe, "process.on('exit', () => process.stderr.write('typescript loaded: ' + Object.keys(require.cache).some((f) => f.includes('typescript')) + '\\n'))\n")
    await writeFile(path.join(dir, 'config.yaml'), 'storage: ./storage\n')
    for (const mode of ['test', 'development', 'production']) {
      const args = ['--require', probe, BIN, 'acl', 'list', '--config', path.join(dir, 'config.yaml')]
      const result = await runProcess(process.execPath, args, { cwd: dir, env: { ...isolatedBaseEnv(), HOME: dir, NODE_ENV: mode } })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr, mode).toContain('typescript loaded: false')
    }
  })
})
