import { execFile } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { errnoCode, SinopiaError } from '../errors.js'
import { writeFileAtomic } from '../fs/atomic.js'
import { defaultConfigText } from './defaults.js'
import { parseConfig, storageLocation } from './parse.js'
import { assertNoSelfUplink } from './self-uplink.js'
import type { Config, ConfigWarning } from './types.js'

/** `--config`, else $SINOPIA_CONFIG, else the XDG config folder ($XDG_CONFIG_HOME, or ~/.config). */
export function configPath(opts: { flag?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env
  if (opts.flag) return path.resolve(opts.flag)
  if (env.SINOPIA_CONFIG) return path.resolve(env.SINOPIA_CONFIG)
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
    ? env.XDG_CONFIG_HOME
    : path.join(env.HOME || os.homedir(), '.config')
  return path.join(base, 'sinopia-cli', 'config.yaml')
}

export interface LoadOptions {
  path: string
  /** Write the default config file when there is none, instead of failing. */
  createIfMissing?: boolean
  /** The default file's uplink; `npm config get registry` when not given. */
  defaultUplinkUrl?: () => Promise<string>
  onWarning?: (warning: ConfigWarning) => void
  /** The file's text, already read (a reload reads it until it stops changing); then the file is not read again. */
  text?: string
  /** `--storage`: overrides $SINOPIA_STORAGE, which overrides the file's `storage` (a folder relative to the working directory, or a URL). */
  storage?: string
  /** Where $SINOPIA_STORAGE is read; process.env when not given. */
  env?: NodeJS.ProcessEnv
}

export async function loadConfig(opts: LoadOptions): Promise<Config> {
  const file = path.resolve(opts.path)
  let text = opts.text ?? (await readText(file))
  if (text === null) {
    if (!opts.createIfMissing) {
      throw new SinopiaError('ECONFIG', `no config file at ${file}`, {
        hint: 'create it (a Verdaccio config.yaml works as it is), or point --config or SINOPIA_CONFIG at one',
      })
    }
    await createDefault(file, await (opts.defaultUplinkUrl ?? npmRegistryUrl)())
    // Read back rather than reuse our text: another process may have written the file first.
    text = await readText(file)
    if (text === null) throw new SinopiaError('ECONFIG', `the config file ${file} disappeared right after it was written`)
  }
  const { config, warnings } = parseConfig(text, file)
  for (const warning of warnings) opts.onWarning?.(warning)
  const override = opts.storage || (opts.env ?? process.env).SINOPIA_STORAGE
  if (override) {
    config.storage = storageLocation(override, process.cwd())
    config.storageOverride = override
  }
  await readCaFiles(config)
  return config
}

/** A missing file is a value; any other read failure is an error. */
async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw new SinopiaError('ECONFIG', `cannot read the config file ${file} (${errnoCode(error) ?? String(error)})`, {
      hint: 'check that the path is a file this user may read',
      cause: error,
    })
  }
}

async function createDefault(file: string, uplinkUrl: string): Promise<void> {
  const text = defaultConfigText(uplinkUrl)
  // Check before writing, so a bad URL or a self-pointing npm registry leaves no broken file behind.
  const refuse = (error: unknown, hint: string): SinopiaError =>
    new SinopiaError('ECONFIG', `cannot use ${uplinkUrl} as the uplink of a new config file: ${(error as Error).message}`, {
      hint: `${hint}; or write ${file} yourself with uplinks.npmjs.url set to the registry to fetch from`,
      cause: error,
    })
  let config: Config
  try {
    config = parseConfig(text, file).config
  } catch (error) {
    throw refuse(error, 'fix the URL (by default it is what `npm config get registry` prints)')
  }
  try {
    assertNoSelfUplink(config, config.listen)
  } catch (error) {
    throw refuse(error, "the URL (by default npm's registry setting) is sinopia-cli itself: use the upstream registry's URL")
  }
  await mkdir(path.dirname(file), { recursive: true })
  // A reader sees no file or the whole file, and a power cut right after the start keeps it.
  await writeFileAtomic(file, text)
}

async function readCaFiles(config: Config): Promise<void> {
  for (const uplink of Object.values(config.uplinks)) {
    if (uplink.caFile === undefined) continue
    const key = `uplinks.${uplink.name}.ca`
    let pem: string
    try {
      pem = await readFile(uplink.caFile, 'utf8')
    } catch (error) {
      throw new SinopiaError('ECONFIG', `${config.file}: ${key}: cannot read ${uplink.caFile} (${errnoCode(error) ?? String(error)})`, {
        hint: 'point ca at a readable PEM file (relative to the config file), or paste the PEM text itself',
        cause: error,
      })
    }
    if (!pem.includes('-----BEGIN')) {
      throw new SinopiaError('ECONFIG', `${config.file}: ${key}: ${uplink.caFile} is not a PEM file`, {
        hint: 'the file must hold certificates in PEM form (-----BEGIN CERTIFICATE-----)',
      })
    }
    uplink.ca = pem
  }
}

/** The registry npm itself uses on this machine, so the first config proxies to what the user already trusts. */
export function npmRegistryUrl(): Promise<string> {
  const hint = 'install npm, or create the config file yourself with the registry to fetch from under uplinks'
  // npm is a .cmd script on Windows, which execFile only runs through a shell.
  const windows = process.platform === 'win32'
  return new Promise((resolve, reject) => {
    execFile(windows ? 'npm.cmd' : 'npm', ['config', 'get', 'registry'], { timeout: 30_000, shell: windows }, (error, stdout) => {
      if (error) {
        const reason = errnoCode(error) === 'ENOENT' ? 'npm is not installed or not on PATH' : error.message.trim()
        reject(new SinopiaError('ECONFIG', `cannot ask npm for its registry: ${reason}`, { hint, cause: error }))
        return
      }
      const url = stdout.trim()
      if (url === '' || url === 'undefined') {
        reject(new SinopiaError('ECONFIG', '`npm config get registry` printed nothing', { hint }))
        return
      }
      resolve(url)
    })
  })
}
