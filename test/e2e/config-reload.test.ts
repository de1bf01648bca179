import { spawn } from 'node:child_process'
import { open, readFile, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * A running `serve` whose config file is truncated or rewritten in place while it answers
 * requests: a reload never applies an empty or half-written file, so no request meanwhile
 * gets a 404 for a package its uplink has.
 */
describe('config reload of a file being written', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let good: string

  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'alpha', version: '1.0.0' })] })
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { log: { level: 'info' } } })
    good = await readFile(registry.configFile, 'utf8')
    expect(good).toMatch(/^uplinks:(.|\n)*^packages:/m)
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream.stop()
  })

  /** Waits for `pattern` in what the server prints from now on: call before the action, await after it. */
  function nextOutput(pattern: RegExp): () => Promise<void> {
    const from = registry.output().length
    return async () => {
      const deadline = Date.now() + 10_000
      while (!pattern.test(registry.output().slice(from))) {
        if (Date.now() > deadline) throw new Error(`${String(pattern)} not printed within 10 s\n${registry.output().slice(from).slice(-3000)}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }

  /**
   * Asks for alpha's packument from 4 clients in turn until `during` settles (at most 20,000
   * requests or 30 s in all), and returns the statuses that were not 200.
   */
  async function underLoad(during: () => Promise<void>): Promise<number[]> {
    let done = false
    const bad: number[] = []
    let sent = 0
    const deadline = Date.now() + 30_000
    const client = async () => {
      while (!done && sent < 20_000 && Date.now() < deadline) {
        sent++
        const response = await fetch(`${registry.url}alpha`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })
        await response.arrayBuffer()
        if (response.status !== 200) bad.push(response.status)
      }
    }
    const clients = Array.from({ length: 4 }, client)
    try {
      await during()
    } finally {
      done = true
      await Promise.all(clients)
    }
    expect(sent).toBeGreaterThan(0)
    return bad
  }

  const READ = /config (not reloaded|reloaded|re-read)/

  it('keeps the running config while the file is empty, with a log line saying why', async () => {
    const from = registry.output().length
    const bad = await underLoad(async () => {
      const read = nextOutput(READ)
      await writeFile(registry.configFile, '')
      await read()
      const back = nextOutput(READ)
      await writeFile(registry.configFile, good)
      await back()
    })
    expect(bad).toEqual([])
    expect(registry.output().slice(from)).toMatch(/error +config not reloaded, the running one stays: .*config\.yaml is empty/)
  })

  it('does not apply a file caught half-written in place (it lost its uplinks: and packages:)', async () => {
    const cut = good.indexOf('uplinks:')
    const from = registry.output().length
    const bad = await underLoad(async () => {
      const read = nextOutput(READ)
      // As `cat good > config.yaml` from a slow writer: truncated, the first part, a pause, the rest.
      const handle = await open(registry.configFile, 'w')
      try {
        await handle.write(good.slice(0, cut))
        await read()
        const back = nextOutput(READ)
        await handle.write(good.slice(cut))
        await back()
      } finally {
        await handle.close()
      }
    })
    expect(bad).toEqual([])
    expect(registry.output().slice(from)).toMatch(/error +config not reloaded, the running one stays: .*has no (uplinks|packages): key/)
  })

  it('answers every request while `cat good > config.yaml` rewrites the file 20 times', async () => {
    await writeFile(`${registry.configFile}.good`, good)
    const bad = await underLoad(async () => {
      let last: () => Promise<void> = () => Promise.resolve()
      for (let i = 0; i < 20; i++) {
        if (i === 19) last = nextOutput(READ)
        const code = await new Promise<number | null>((resolve) => {
          spawn('sh', ['-c', 'cat "$1.good" > "$1"', 'sh', registry.configFile], { stdio: 'ignore' }).on('exit', resolve)
        })
        expect(code).toBe(0)
        await new Promise((resolve) => setTimeout(resolve, 30 + (i % 4) * 40))
      }
      // Load runs until the last rewrite has been read.
      await last()
    })
    expect(bad).toEqual([])
  })
})
