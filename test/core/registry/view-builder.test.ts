import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { ViewBuilder } from '../../../src/core/registry/view-builder.js'
import type { FromUplinkInput, SummaryFields } from '../../../src/core/registry/view-tasks.js'
import { withText } from '../../../src/core/search/summary.js'
import { BASE_TOKEN, viewOf, type ViewData } from '../../../src/core/registry/view.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import { rejection } from '../../helpers/errors.js'

/**
 * The view builder runs the same tasks inline (small documents) and in its worker thread (big
 * ones, here forced with a threshold of 0): both must give the same answer, the same errors,
 * and a worker that dies must fail its tasks, not hang them, and be replaced.
 */
/** View data with its documents as text: the worker's arrive as Uint8Array, the inline ones as Buffer. */
const text = (data: ViewData) => ({ ...data, full: Buffer.from(data.full).toString(), abbreviated: Buffer.from(data.abbreviated).toString() })

const uplinks = { up: { url: 'http://127.0.0.1:9/', tarballOrigins: [] } }

function uplinkInput(doc: unknown): FromUplinkInput {
  return { body: Buffer.from(JSON.stringify(doc)), name: 'pkg', uplink: 'up', upstreamUrl: 'http://127.0.0.1:9/', etag: '"e1"', uplinks }
}

const doc = {
  name: 'pkg',
  'dist-tags': { latest: '1.1.0', gone: '9.9.9' },
  versions: {
    '1.0.0': { name: 'pkg', version: '1.0.0', dist: { tarball: 'http://127.0.0.1:9/pkg/-/pkg-1.0.0.tgz', shasum: 'a'.repeat(40) } },
    '1.1.0': { name: 'pkg', version: '1.1.0', dist: { tarball: 'http://10.0.0.1/steal/pkg-1.1.0.tgz', integrity: 'sha512-abc' } },
    'not-semver': { name: 'pkg', version: 'x' },
    '1.2.0\n': { name: 'pkg', version: '1.2.0' },
  },
  _attachments: { x: 1 },
}

describe('ViewBuilder', () => {
  const builders: ViewBuilder[] = []
  const make = (threshold: number) => {
    const builder = new ViewBuilder(threshold)
    builders.push(builder)
    return builder
  }
  afterEach(async () => {
    await Promise.all(builders.splice(0).map((b) => b.close()))
  })

  it('gives the same record and view inline and in the worker', async () => {
    const inline = await make(Infinity).run('fromUplink', uplinkInput(doc), 0)
    const worker = await make(0).run('fromUplink', uplinkInput(doc), 0)
    expect(Buffer.from(worker.record).equals(Buffer.from(inline.record))).toBe(true)
    expect({ ...worker.data, view: text(worker.data.view) }).toEqual({ ...inline.data, view: text(inline.data.view) })
    // Checked: attachments, non-semver versions and keys semver would trim dropped, a tag to a missing version dropped.
    const stored = JSON.parse(Buffer.from(inline.record).toString('utf8')) as { etag: string; doc: Record<string, unknown> }
    expect(stored.etag).toBe('"e1"')
    expect(stored.doc._attachments).toBeUndefined()
    expect(Object.keys(stored.doc.versions as object)).toEqual(['1.0.0', '1.1.0'])
    expect(inline.data.view.distTags).toEqual({ latest: '1.1.0' })
    // The worker serializes with this process's base token, and never trusts a foreign tarball origin.
    expect(Buffer.from(worker.data.view.full).toString()).toContain(`${BASE_TOKEN}pkg/-/pkg-1.0.0.tgz`)
    const view = viewOf('pkg', worker.data.view)
    expect(view.versions.get('1.1.0')).toEqual({ version: '1.1.0', expected: 'sha512-abc', upstreamUrl: 'http://127.0.0.1:9/pkg/-/pkg-1.1.0.tgz' })
    expect(view.versions.byFile('pkg-1.0.0.tgz')).toBe('1.0.0')
    expect(view.versions.byFile('pkg-9.9.9.tgz')).toBeUndefined()
  })

  it('gives the same merged, offline and summary answers inline and in the worker', async () => {
    const { record } = await make(Infinity).run('fromUplink', uplinkInput(doc), 0)
    const local = { ...emptyLocal('override'), deprecated: { '1.0.0': 'use 1.1' } }
    const input = { name: 'pkg', key: 'k', upstream: { raw: record, where: 'test' }, local, available: ['1.0.0'], uplinks }
    const inline = await make(Infinity).run('derived', input, 0)
    expect(text(await make(0).run('derived', input, 0))).toEqual(text(inline))
    const served = JSON.parse(Buffer.from(inline.full).toString()) as { versions: Record<string, { deprecated?: string }>; 'dist-tags': Record<string, string> }
    expect(Object.keys(served.versions)).toEqual(['1.0.0'])
    expect(served.versions['1.0.0']?.deprecated).toBe('use 1.1')
    const summaryInput = { name: 'pkg', upstream: { raw: record, where: 'test' }, local }
    const inlineSummary = await make(Infinity).run('summary', summaryInput, 0)
    const workerSummary = await make(0).run('summary', summaryInput, 0)
    expect(workerSummary).toEqual(inlineSummary)
    // The search text is made on the caller's thread: a crossing kept only its plain fields, and
    // every package whose document went to the worker (over 1 MB) failed to be indexed.
    expect(workerSummary).not.toHaveProperty('text')
    expect(withText(workerSummary as SummaryFields).text.all).toBe(withText(inlineSummary as SummaryFields).text.all)
  })

  it('picks one version as npm does (registry/pick.ts), inline and in the worker', async () => {
    const { record } = await make(Infinity).run('fromUplink', uplinkInput(doc), 0)
    // latest (1.1.0) deprecated here: a range it satisfies goes to the highest other match.
    const local = { ...emptyLocal('override'), deprecated: { '1.1.0': 'broken' } }
    const input = (spec: string) => ({ name: 'pkg', spec, upstream: { raw: record, where: 'test' }, local, available: null })
    for (const [spec, version] of [['^1', '1.0.0'], ['latest', '1.1.0'], ['^2', undefined]] as const) {
      const inline = await make(Infinity).run('manifest', input(spec), 0)
      expect(await make(0).run('manifest', input(spec), 0)).toEqual(inline)
      expect(inline?.version).toBe(version)
    }
  })

  it('carries a task error out of the worker with its code and status', async () => {
    const bad = { ...uplinkInput(doc), body: Buffer.from('{"name":') }
    for (const builder of [make(Infinity), make(0)]) {
      expect(await rejection(builder.run('fromUplink', bad, 0))).toMatchObject({ code: 'EUPLINK', status: 502 })
    }
    const corrupt = { raw: Buffer.from('[1]'), where: 'upstream.json', name: 'pkg', rev: 'r', uplinks }
    await expect(make(0).run('fromStored', corrupt, 0)).rejects.toMatchObject({ code: 'ECORRUPT', hint: 'run `sinopia-cli verify --fix`' })
  })

  it('runs its worker below the priority of the event loop', async () => {
    const builder = make(0)
    await builder.run('fromUplink', uplinkInput(doc), 0)
    // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (Linux: per thread).
    const nice = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
    const threads = readdirSync('/proc/self/task').map((tid) => nice(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')))
    expect(nice(readFileSync('/proc/self/stat', 'utf8'))).toBe(0)
    expect(threads).toContain(10)
  })

  it('fails the tasks of a worker that died, and starts a new one for the next', async () => {
    const builder = make(0)
    const pending = builder.run('fromUplink', uplinkInput(doc), 0)
    await builder.close()
    await expect(pending).rejects.toMatchObject({ code: 'EINTERNAL' })
    await expect(builder.run('fromUplink', uplinkInput(doc), 0)).resolves.toMatchObject({ data: { uplink: 'up' } })
  })
})
