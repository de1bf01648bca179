import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cleanupTempDirs } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { generateProjectPackages } from '../helpers/project.js'
import { cliWorkspace, describeResult, parseSummary, runCli } from './lock-sync-harness.js'

describe('sinopia-cli mirror (built binary)', () => {
  let upstream: FakeUpstream
  let ws: Awaited<ReturnType<typeof cliWorkspace>>

  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: (await generateProjectPackages()).packages })
  })
  beforeEach(async () => {
    upstream.reset()
    ws = await cliWorkspace(upstream.url)
  })
  afterAll(async () => {
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('--deps mirrors the closure and reports what each spec resolved to; a second run fetches no tarball', async () => {
    const result = await runCli(['mirror', 'alpha', '@acme/native@^1', '--deps', '--json', '--config', ws.config], { cwd: ws.dir })
    expect(result.code, describeResult(result)).toBe(0)
    const summary = parseSummary(result)
    expect(summary).toMatchObject({ command: 'mirror', total: 10, fetched: 10, failed: [], skipped: [] })
    expect(summary.roots?.sort((a, b) => a.spec.localeCompare(b.spec))).toEqual([
      { spec: '@acme/native@^1', versions: ['1.0.0'] },
      { spec: 'alpha', versions: ['1.0.0'] },
    ])
    expect(upstream.count((r) => r.url.includes('/-/'))).toBe(10)

    upstream.reset()
    const again = await runCli(['mirror', 'alpha', '@acme/native@^1', '--deps', '--json', '--config', ws.config], { cwd: ws.dir })
    expect(parseSummary(again)).toMatchObject({ present: 10, fetched: 0 })
    expect(upstream.count((r) => r.url.includes('/-/'))).toBe(0)
  })

  it('reads specs from --from, prints plain lines without a TTY, and exits 1 for a spec it cannot mirror', async () => {
    const list = path.join(ws.dir, 'specs.txt')
    await writeFile(list, '# build tools\n@tools/cli@latest\n\nutil-core@^1   # the old major\nutil-core@^7\n')
    const result = await runCli(['mirror', '--from', list, '--all-versions', '--config', ws.config], { cwd: ws.dir })
    expect(result.code, describeResult(result)).toBe(1)
    expect(result.stderr).toContain('mirror: fetched @tools/cli@1.0.0 (')
    expect(result.stderr).toContain('mirror: failed util-core@^7: no version of util-core matches ^7')
    // --all-versions: every version a spec allows: a tag's one, a range's matches.
    expect(result.stdout).toMatch(/^mirror: 3 packages: 0 already in store, 3 fetched, 0 skipped, 1 failed;/)
    expect(result.stderr).toContain('mirror: fetched util-core@1.0.0 (')
    expect(result.stderr).toContain('mirror: fetched util-core@1.1.0 (')
    expect(result.stdout).toContain('failed:\n  util-core@^7: ETARGET: no version of util-core matches ^7')
  })

  it('asks for specs when given none', async () => {
    const result = await runCli(['mirror', '--config', ws.config], { cwd: ws.dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('Error: no package specs given')
  })
})
