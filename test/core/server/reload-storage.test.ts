import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../../../src/core/config/index.js'
import type { Logger } from '../../../src/core/log.js'
import { ConfigWatcher } from '../../../src/core/server/reload.js'

describe('config reload of a server started with --storage', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-reload-storage-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('keeps the flag: a reload neither moves the storage nor asks for a restart', async () => {
    const file = path.join(dir, 'config.yaml')
    const text = 'storage: ./from-file\nuplinks: {}\npackages: {}\n'
    await writeFile(file, text)
    let running: Config = await loadConfig({ path: file, storage: 'postgres://db.internal/registry', env: {} })
    const lines: string[] = []
    const log: Logger = { level: 'debug', enabled: () => true, log: (level, message) => void lines.push(`${level} ${message}`) }
    const watcher = new ConfigWatcher({ file, log, current: () => running, apply: (config) => (running = config) })
    await writeFile(file, `${text}max_body_size: 20mb\n`)
    await watcher.reload()
    watcher.close()
    expect(lines.filter((line) => line.startsWith('warn') || line.startsWith('error'))).toEqual([])
    expect(running.storage).toBe('postgres://db.internal/registry')
    expect(running.maxBodySize).toBe(20 * 1024 * 1024)
  })
})
