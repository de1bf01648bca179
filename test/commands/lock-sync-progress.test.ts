import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { checkSummaryText, createProgress, formatBytes, syncSummaryText } from '../../src/cli/progress.js'
import type { SyncEvent, SyncSummary } from '../../src/core/sync/index.js'

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream
  let text = ''
  ;(stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()))
  return { stream, text: () => text }
}

const EVENTS: SyncEvent[] = [
  { type: 'total', total: 3 },
  { type: 'skipped', skipped: { name: 'g', spec: 'github:u/g', kind: 'git', reason: 'git dependency' } },
  { type: 'done', name: 'a', version: '1.0.0', status: 'present', size: 100 },
  { type: 'done', name: '@s/b', version: '2.0.0', status: 'fetched', size: 2_500 },
  { type: 'retry', label: 'c@1.0.0', attempt: 1, delayMs: 500, message: 'uplink npmjs answered 503' },
  { type: 'failed', failure: { package: 'c@1.0.0', code: 'EUPLINK', message: 'uplink npmjs answered 503' } },
]

describe('progress', () => {
  it('without a TTY: a line per fetched, skipped, retried or failed package, and status lines', async () => {
    const out = capture()
    const progress = await createProgress({ verb: 'lock-sync', json: false, stream: out.stream, everyMs: 0 })
    for (const event of EVENTS) progress.onEvent(event)
    progress.note('SIGINT: stopping')
    progress.stop()
    const lines = out.text().split('\n')
    expect(lines).toContain('lock-sync: skipped g (github:u/g): git dependency')
    expect(lines).toContain('lock-sync: fetched @s/b@2.0.0 (2.5 kB)')
    expect(lines).toContain('lock-sync: retrying c@1.0.0 in 0.5s (attempt 2): uplink npmjs answered 503')
    expect(lines).toContain('lock-sync: failed c@1.0.0: uplink npmjs answered 503')
    expect(lines).toContain('SIGINT: stopping')
    expect(lines.some((line) => /^lock-sync: 2\/3 packages · 2\.5 kB fetched · .*\/s · 1 failed$/.test(line))).toBe(true)
    expect(lines.some((line) => line.includes('a@1.0.0'))).toBe(false)
  })

  it('with --json: nothing at all', async () => {
    const out = capture()
    const progress = await createProgress({ verb: 'mirror', json: true, stream: out.stream })
    for (const event of EVENTS) progress.onEvent(event)
    progress.note('x')
    progress.stop()
    expect(out.text()).toBe('')
  })

  it('summaries for people', () => {
    const summary: SyncSummary = {
      total: 3,
      present: 1,
      fetched: 1,
      refetched: [],
      failed: [{ package: 'c@1.0.0', code: 'EUPLINK', message: 'uplink npmjs answered 503' }],
      skipped: [{ name: 'g', spec: 'github:u/g', kind: 'git', reason: 'git dependency', lockfile: 'yarn.lock' }],
      interrupted: 0,
      bytes: { fetched: 2_500, total: 2_600 },
      durationMs: 1_234,
    }
    expect(syncSummaryText('lock-sync', summary, 'yarn.lock')).toBe(
      [
        'lock-sync: 3 packages from yarn.lock: 1 already in store, 1 fetched, 1 skipped, 1 failed; 2.5 kB fetched, 2.6 kB in all, in 1.2 s',
        'skipped:',
        '  g (github:u/g): git dependency [yarn.lock]',
        'failed:',
        '  c@1.0.0: EUPLINK: uplink npmjs answered 503',
      ].join('\n'),
    )
    expect(syncSummaryText('mirror', { ...summary, failed: [], skipped: [], interrupted: 1 })).toMatch(/^mirror: 3 packages: .*\ninterrupted: 1 not done; run the same command again to finish$/)
    expect(checkSummaryText({ total: 2, ok: 2, missing: [], corrupt: [], skipped: [], interrupted: 0, bytes: 999, durationMs: 12 })).toBe(
      'check: 2 packages: 2 ok, 0 missing, 0 corrupt, 0 skipped; 999 B verified in 12 ms',
    )
    expect([formatBytes(0), formatBytes(1_000), formatBytes(12_345_678), formatBytes(3.2e9)]).toEqual(['0 B', '1.0 kB', '12 MB', '3.2 GB'])
  })
})
