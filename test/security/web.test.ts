import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReadmeRenderer } from '../../src/core/web/index.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { describeStall, excessStallMs, watchStall } from '../helpers/watchdog.js'

/**
 * Crafted READMEs against a real `serve`: markdown that costs the renderer seconds, or makes
 * it throw, must not stall other requests, and a failure is kept (shown as plain text), not
 * retried on every view. The READMEs come from the uplink only: no account is needed to
 * plant one. (The fake upstream serves `# name\n\n<description>` as the README.)
 */

/**
 * Longest the server may block its event loop while a page renders, beyond what the machine's
 * load explains (excessStallMs). Rendered on the main thread these READMEs stalled it 1.5-3.4 s.
 */
const STALL_MS = 300

const CRAFTED = {
  // Emphasis delimiters the parser pairs up in quadratic time: ~2-3 s on the main thread.
  'readme-stars': '*a'.repeat(40_000),
  // Nested blockquotes past the stack: the renderer throws (after ~1.5 s).
  'readme-quotes': '>'.repeat(200_000),
  // Many open tags for the sanitizer.
  'readme-tags': '<div>'.repeat(60_000),
}

describe('README rendering', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry

  beforeAll(async () => {
    const packages = await Promise.all(Object.entries(CRAFTED).map(([name, description]) => buildPackage({ name, version: '1.0.0', description })))
    packages.push(await buildPackage({ name: 'readme-plain', version: '1.0.0', description: 'A **fine** README' }))
    packages.push(await buildPackage({ name: 'readme-warmup', version: '1.0.0', description: 'warm-up' }))
    upstream = await startFakeUpstream({ packages })
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { limits: { readme_render_time: '1s' } } })
    // A fresh server's first package page costs ~0.2-0.3 s of main thread on a loaded machine
    // whatever its README (first uplink fetch and store write): paid here, so the tests below
    // measure what a README costs.
    await (await fetch(new URL('-/web/package/readme-warmup', registry.url))).text()
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream.stop()
  })

  const view = async (name: string) => {
    const res = await fetch(new URL(`-/web/package/${name}`, registry.url))
    return { status: res.status, text: await res.text() }
  }

  for (const name of Object.keys(CRAFTED)) {
    it(`renders ${name} without stalling other requests`, async () => {
      const { result: page, report } = await watchStall(registry.url, () => view(name), { intervalMs: 10 })
      expect(page.status).toBe(200)
      expect(report.failures).toBe(0)
      expect(excessStallMs(report), describeStall(report)).toBeLessThan(STALL_MS)
    })
  }

  it('keeps a README the renderer gave up on as escaped plain text, and does not render it again', async () => {
    const first = await view('readme-quotes')
    expect(first.text).toMatch(/<pre class="readme-plain"># readme-quotes\n\n(&gt;){100}/)
    const { report } = await watchStall(registry.url, async () => {
      for (let i = 0; i < 3; i++) expect((await view('readme-quotes')).text).toBe(first.text)
    }, { intervalMs: 10 })
    expect(excessStallMs(report), describeStall(report)).toBeLessThan(STALL_MS)
  })

  it('still renders an ordinary README as HTML', async () => {
    expect((await view('readme-plain')).text).toMatch(/<strong>fine<\/strong>/)
  })
})

describe('ReadmeRenderer', () => {
  it('terminates a render past its time budget, shows plain text, and renders the next README in a fresh thread', async () => {
    const reasons: string[] = []
    const renderer = new ReadmeRenderer(() => ({ maxBytes: 1024 * 1024, timeoutMs: 300, maxQueued: 8 }), (reason) => reasons.push(reason))
    try {
      const slow = await renderer.render('*a'.repeat(40_000))
      expect(slow.html?.value).toMatch(/^<pre class="readme-plain">\*a\*a/)
      expect(slow.keep).toBe(true)
      expect(reasons).toEqual([expect.stringMatching(/longer than 300 ms/)])
      expect((await renderer.render('# Fine')).html?.value).toMatch(/<h1>Fine<\/h1>/)
    } finally {
      await renderer.close()
    }
  })

  it('cuts a README at its byte budget, never inside a character', async () => {
    const renderer = new ReadmeRenderer(() => ({ maxBytes: 10, timeoutMs: 5_000, maxQueued: 8 }))
    try {
      expect((await renderer.render('€€€€ and more')).html?.value).toMatch(/^<p>€€€\s*<\/p>\s*<p><em>\(README cut at 10 bytes\)<\/em><\/p>/)
    } finally {
      await renderer.close()
    }
  })

  it('keeps at most maxQueued READMEs waiting: more get plain text at once, marked not to be kept', async () => {
    const renderer = new ReadmeRenderer(() => ({ maxBytes: 1024 * 1024, timeoutMs: 300, maxQueued: 2 }))
    try {
      const jobs = [1, 2, 3].map((i) => renderer.render(`${'*a'.repeat(40_000)} ${i}`))
      const third = await jobs[2]
      expect(third?.keep).toBe(false)
      expect(third?.html?.value).toMatch(/^<pre class="readme-plain">/)
      expect((await Promise.all(jobs.slice(0, 2))).map((o) => o.keep)).toEqual([true, true])
      expect(await renderer.render('# Next')).toEqual({ html: expect.objectContaining({ value: expect.stringMatching(/<h1>Next<\/h1>/) }), keep: true })
    } finally {
      await renderer.close()
    }
  })
})
