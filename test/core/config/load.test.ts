import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { configPath, defaultConfigText, loadConfig, type ConfigWarning } from '../../../src/core/config/index.js'
import { SinopiaError } from '../../../src/core/errors.js'

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

describe('configPath', () => {
  it('prefers the flag', () => {
    expect(configPath({ flag: '/a/config.yaml', env: { SINOPIA_CONFIG: '/b/config.yaml' } })).toBe('/a/config.yaml')
  })

  it('resolves a relative flag against the working directory', () => {
    expect(configPath({ flag: 'my.yaml', env: {} })).toBe(path.resolve('my.yaml'))
  })

  it('then SINOPIA_CONFIG', () => {
    expect(configPath({ env: { SINOPIA_CONFIG: '/b/config.yaml', XDG_CONFIG_HOME: '/xdg' } })).toBe('/b/config.yaml')
  })

  it('then $XDG_CONFIG_HOME/sinopia-cli/config.yaml', () => {
    expect(configPath({ env: { XDG_CONFIG_HOME: '/xdg', HOME: '/home/me' } })).toBe('/xdg/sinopia-cli/config.yaml')
  })

  it('then ~/.config/sinopia-cli/config.yaml', () => {
    expect(configPath({ env: { HOME: '/home/me' } })).toBe('/home/me/.config/sinopia-cli/config.yaml')
  })

  it('ignores an empty or relative XDG_CONFIG_HOME, as the XDG spec asks', () => {
    expect(configPath({ env: { XDG_CONFIG_HOME: '', HOME: '/home/me' } })).toBe('/home/me/.config/sinopia-cli/config.yaml')
    expect(configPath({ env: { XDG_CONFIG_HOME: 'rel', HOME: '/home/me' } })).toBe('/home/me/.config/sinopia-cli/config.yaml')
  })

  it('ignores an empty SINOPIA_CONFIG', () => {
    expect(configPath({ env: { SINOPIA_CONFIG: '', XDG_CONFIG_HOME: '/xdg' } })).toBe('/xdg/sinopia-cli/config.yaml')
  })
})

describe('loadConfig', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-config-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function rejection(promise: Promise<unknown>): Promise<SinopiaError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(SinopiaError)
    expect((error as SinopiaError).code).toBe('ECONFIG')
    expect((error as SinopiaError).hint).toBeTruthy()
    return error as SinopiaError
  }

  it('creates the default file, folders included, and loads it', async () => {
    const file = path.join(dir, 'nested', 'sinopia-cli', 'config.yaml')
    let asked = 0
    const config = await loadConfig({
      path: file,
      createIfMissing: true,
      defaultUplinkUrl: () => {
        asked++
        return Promise.resolve('https://registry.example.org')
      },
    })
    expect(asked).toBe(1)
    expect(await readFile(file, 'utf8')).toBe(defaultConfigText('https://registry.example.org'))
    expect(await readdir(path.dirname(file))).toEqual(['config.yaml'])
    expect(config.file).toBe(file)
    expect(config.storage).toBe(path.join(dir, 'nested', 'sinopia-cli', 'storage'))
    expect(config.uplinks.npmjs!.url).toBe('https://registry.example.org/')
  })

  it('leaves an existing file alone', async () => {
    const file = path.join(dir, 'config.yaml')
    await writeFile(file, 'storage: ./mine\n')
    const config = await loadConfig({
      path: file,
      createIfMissing: true,
      defaultUplinkUrl: () => Promise.reject(new Error('must not be asked')),
    })
    expect(config.storage).toBe(path.join(dir, 'mine'))
    expect(await readFile(file, 'utf8')).toBe('storage: ./mine\n')
  })

  it('fails with a hint when the file is missing and may not be created', async () => {
    const file = path.join(dir, 'config.yaml')
    const error = await rejection(loadConfig({ path: file }))
    expect(error.message).toBe(`no config file at ${file}`)
  })

  it('writes nothing when the uplink URL is unusable', async () => {
    const file = path.join(dir, 'config.yaml')
    const error = await rejection(loadConfig({ path: file, createIfMissing: true, defaultUplinkUrl: () => Promise.resolve('not a url') }))
    expect(error.message).toMatch(/cannot use not a url/)
    expect(await readdir(dir)).toEqual([])
  })

  it("refuses to create a config whose uplink is npm's registry pointing at this server", async () => {
    const file = path.join(dir, 'config.yaml')
    const error = await rejection(
      loadConfig({ path: file, createIfMissing: true, defaultUplinkUrl: () => Promise.resolve('http://localhost:4873/') }),
    )
    expect(error.message).toMatch(/points at this server/)
    expect(await readdir(dir)).toEqual([])
  })

  it('passes warnings to onWarning', async () => {
    const file = path.join(dir, 'config.yaml')
    await writeFile(file, 'theme:\n  x: y\nstorage: ./s\n')
    const warnings: ConfigWarning[] = []
    await loadConfig({ path: file, onWarning: (warning) => warnings.push(warning) })
    expect(warnings).toMatchObject([{ key: 'theme', line: 1 }])
  })

  it('reads the ca file relative to the config file', async () => {
    await mkdir(path.join(dir, 'certs'))
    await writeFile(path.join(dir, 'certs', 'corp.pem'), PEM)
    const file = path.join(dir, 'config.yaml')
    await writeFile(file, 'uplinks:\n  corp:\n    url: https://npm.corp.example.org/\n    ca: certs/corp.pem\n')
    const config = await loadConfig({ path: file })
    expect(config.uplinks.corp).toMatchObject({ ca: PEM, caFile: path.join(dir, 'certs', 'corp.pem') })
  })

  it('fails naming the key when the ca file is missing or not PEM', async () => {
    const file = path.join(dir, 'config.yaml')
    await writeFile(file, 'uplinks:\n  corp:\n    url: https://npm.corp.example.org/\n    ca: corp.pem\n')
    expect((await rejection(loadConfig({ path: file }))).message).toMatch(/uplinks\.corp\.ca: cannot read .*corp\.pem \(ENOENT\)/)
    await writeFile(path.join(dir, 'corp.pem'), 'hello')
    expect((await rejection(loadConfig({ path: file }))).message).toMatch(/uplinks\.corp\.ca: .*corp\.pem is not a PEM file/)
  })

  it('reports an unreadable path as ECONFIG', async () => {
    expect((await rejection(loadConfig({ path: dir }))).message).toMatch(/cannot read the config file/)
  })
})
