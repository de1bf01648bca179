import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, parseConfig } from '../../../src/core/config/index.js'
import { isDatabaseUrl, redactLocation } from '../../../src/core/store/index.js'

const URL_WITH_PASSWORD = 'postgres://sinopia:s3cret@db.internal:5432/registry'

describe('storage: a folder or a database URL', () => {
  it('keeps a postgres:// or postgresql:// URL as written, and resolves a folder against the config file', () => {
    expect(parseConfig(`storage: ${URL_WITH_PASSWORD}\n`, '/etc/sinopia/config.yaml').config.storage).toBe(URL_WITH_PASSWORD)
    expect(parseConfig('storage: postgresql://db/registry\n', '/etc/sinopia/config.yaml').config.storage).toBe('postgresql://db/registry')
    expect(parseConfig('storage: ./data\n', '/etc/sinopia/config.yaml').config.storage).toBe('/etc/sinopia/data')
    expect(parseConfig('storage: ./postgres://x\n', '/etc/sinopia/config.yaml').config.storage).toBe('/etc/sinopia/postgres:/x')
  })

  it('tells a URL from a folder, and never prints the password', () => {
    expect(isDatabaseUrl(URL_WITH_PASSWORD)).toBe(true)
    expect(isDatabaseUrl('/srv/storage')).toBe(false)
    expect(redactLocation(URL_WITH_PASSWORD)).toBe('postgres://sinopia:***@db.internal:5432/registry')
    expect(redactLocation('postgres://db/registry?password=s3cret&sslmode=require')).toBe('postgres://db/registry?password=***&sslmode=require')
    expect(redactLocation('postgres://sinopia:s3cret@[bad')).not.toContain('s3cret')
    expect(redactLocation('postgres://db/registry')).toBe('postgres://db/registry')
    expect(redactLocation('/srv/storage')).toBe('/srv/storage')
  })
})

describe('storage overrides', () => {
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-storage-'))
    file = path.join(dir, 'config.yaml')
    await writeFile(file, 'storage: ./from-file\n')
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it("the file's storage when nothing overrides it", async () => {
    const config = await loadConfig({ path: file, env: {} })
    expect(config.storage).toBe(path.join(dir, 'from-file'))
    expect(config.storageOverride).toBeUndefined()
  })

  it('$SINOPIA_STORAGE overrides the file; --storage overrides both', async () => {
    const fromEnv = await loadConfig({ path: file, env: { SINOPIA_STORAGE: URL_WITH_PASSWORD } })
    expect(fromEnv.storage).toBe(URL_WITH_PASSWORD)
    expect(fromEnv.storageOverride).toBe(URL_WITH_PASSWORD)
    const fromFlag = await loadConfig({ path: file, env: { SINOPIA_STORAGE: URL_WITH_PASSWORD }, storage: 'relative/store' })
    expect(fromFlag.storage).toBe(path.resolve('relative/store'))
    expect(fromFlag.storageOverride).toBe('relative/store')
  })
})
