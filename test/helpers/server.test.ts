import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeTempDir, REPO_ROOT } from './clients.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'
import { buildPackage } from './packages.js'
import { cleanupRegistries, registryConfig, startRegistry } from './server.js'

/** Stands in for `bin/run.js serve`: honours --config and --listen, answers with its config file. */
const FAKE_SERVE = `
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
const args = process.argv.slice(2)
const config = args[args.indexOf('--config') + 1]
const [host, port] = args[args.indexOf('--listen') + 1].split(':')
if (process.env.FAKE_SERVE_MODE === 'crash') { console.error('boom: bad config'); process.exit(3) }
if (process.env.FAKE_SERVE_MODE === 'silent') setInterval(() => {}, 1000)
else {
  const server = createServer((req, res) => { console.log('http <-- ' + req.method + ' ' + req.url); res.end(readFileSync(config)) })
  server.listen(Number(port), host, () => console.log('info: listening on http://' + host + ':' + server.address().port + '/'))
  process.on('SIGTERM', () => { console.log('bye'); server.close(); server.closeAllConnections() })
}
`

describe('startRegistry', () => {
  let bin: string
  let upstream: FakeUpstream

  beforeAll(async () => {
    bin = path.join(await makeTempDir(), 'fake-serve.mjs')
    await writeFile(bin, FAKE_SERVE)
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'plain', version: '1.0.0' })] })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream.stop()
    await cleanupTempDirs()
  })

  it('writes the YAML config, waits for the listening line, and exposes url and output', async () => {
    const registry = await startRegistry({ bin, upstreamUrl: upstream.url, config: { max_body_size: '10mb', log: { format: 'json' } } })
    expect(registry.url).toBe(`http://127.0.0.1:${registry.port}/`)
    const config = parse(await readFile(registry.configFile, 'utf8')) as Record<string, unknown>
    expect(config).toEqual({
      storage: registry.storage,
      listen: '127.0.0.1:0',
      uplinks: { npmjs: { url: upstream.url } },
      packages: {
        '@*/*': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
        '**': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
      },
      log: { level: 'http', format: 'json' },
      max_body_size: '10mb',
    })
    const response = await fetch(`${registry.url}plain`)
    expect(await response.text()).toContain('storage:')
    await registry.waitForOutput('http <-- GET /plain')
    expect(registry.output()).toContain(`listening on ${registry.url}`)
    expect(await registry.stop()).toEqual({ code: 0, signal: null })
    expect(registry.output()).toContain('bye')
    await registry.cleanup()
    expect(existsSync(registry.configFile)).toBe(false)
  })

  it('restarts on the same port with the same storage, and can be killed', async () => {
    const storage = await makeTempDir()
    const registry = await startRegistry({ bin, storage })
    const { port } = registry
    await registry.restart()
    expect(registry.port).toBe(port)
    expect(registry.storage).toBe(storage)
    expect((await fetch(registry.url)).status).toBe(200)
    expect(registry.output()).toContain('--- restart ---')
    await registry.kill()
    expect(registry.process.signalCode).toBe('SIGKILL')
    await expect(fetch(registry.url)).rejects.toThrow()
    await registry.cleanup()
    expect(existsSync(storage)).toBe(true)
  })

  it('fails fast with the output when the process exits before listening', async () => {
    await expect(startRegistry({ bin, env: { FAKE_SERVE_MODE: 'crash' } })).rejects.toThrow(/exited \(code 3[\s\S]*boom: bad config/)
  })

  it('fails when the listening line does not come in time', async () => {
    await expect(startRegistry({ bin, env: { FAKE_SERVE_MODE: 'silent' }, startTimeoutMs: 300 })).rejects.toThrow(/no "listening on" line within 300 ms/)
  })

  it('proxies nothing without an upstream; deep-merges and deletes config keys', () => {
    const config = registryConfig({ storage: '/s', config: { packages: { '**': { publish: '$all' } }, log: undefined } })
    expect(config).toEqual({
      storage: '/s',
      listen: '127.0.0.1:0',
      packages: { '@*/*': { access: '$all', publish: '$authenticated' }, '**': { access: '$all', publish: '$all' } },
    })
  })

  // Runs once the real CLI is built: only the startup contract the helper relies on.
  it.skipIf(!existsSync(path.join(REPO_ROOT, 'dist', 'commands', 'serve.js')))('starts the real `serve` command', async () => {
    const registry = await startRegistry({ upstreamUrl: upstream.url })
    expect(registry.port).toBeGreaterThan(0)
    expect((await fetch(`${registry.url}-/ping`)).status).toBeLessThan(500)
    await registry.stop()
    await registry.cleanup()
  })
})
