import { expect } from 'vitest'
import { SinopiaError } from '../../../src/core/errors.js'
import { parseConfig, type Config, type ConfigWarning } from '../../../src/core/config/index.js'
import { statusOf } from '../../../src/core/server/statuses.js'

export const FILE = '/etc/sinopia/config.yaml'

/** The uplink `npmjs` at `url` as the loader fills in every key the config leaves out. */
export function defaultUplink(url: string) {
  return {
    name: 'npmjs',
    url,
    timeout: 30_000,
    deadline: 300_000,
    maxPackumentSize: 100 * 1024 * 1024,
    maxTarballSize: 256 * 1024 * 1024,
    tarballOrigins: [],
    maxage: 120_000,
    failTimeout: 300_000,
    maxFails: 3,
    cache: true,
    headers: {},
    strictSsl: true,
  }
}

/** Parses YAML written with leading indentation stripped, from a file at FILE. */
export function parse(text: string): { config: Config; warnings: ConfigWarning[] } {
  return parseConfig(dedent(text), FILE)
}

export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n')
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length))
  return lines.map((line) => line.slice(indent)).join('\n')
}

/** The ECONFIG that parsing `text` throws, checked to name the key path and the line. */
export function configError(text: string, key: string, line: number): SinopiaError {
  let caught: unknown
  try {
    parse(text)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(SinopiaError)
  const error = caught as SinopiaError
  expect(error.code).toBe('ECONFIG')
  expect(statusOf(error.code)).toBe(500)
  expect(error.hint).toBeTruthy()
  expect(error.message).toContain(key === '' ? `${FILE}:${line}: ` : `${FILE}:${line}: ${key}: `)
  return error
}
