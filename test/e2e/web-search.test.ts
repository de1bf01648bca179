import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, runProcess, type ClientResult } from '../helpers/clients.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `npm search` through the real client against `sinopia-cli serve`: a package published
 * with npm is found, with its description, version, keywords and publisher; a private
 * (scoped, here) package only by a logged-in user.
 */

const TIMEOUT = 30_000
const PASSWORD = 'se4rch-Horse'

interface NpmSearchHit {
  name: string
  version: string
  description: string
  keywords: string[]
  publisher?: { username: string }
}

describe('npm search against sinopia-cli serve', () => {
  let registry: RunningRegistry
  let home: string
  let env: Record<string, string>
  const anonymousEnv = () => ({ ...env, npm_config_userconfig: path.join(home, 'anonymous-npmrc') })
  const npm = (args: string[], cwd = home, withEnv = env) => runProcess('npm', args, { cwd, env: withEnv, timeoutMs: TIMEOUT })
  const explain = (result: ClientResult) => `exit ${result.code}\n${result.stdout}\n${result.stderr}\n--- server ---\n${registry.output().slice(-3000)}`

  async function publish(name: string, extra: Record<string, unknown>): Promise<void> {
    const dir = await makeTempDir('sinopia-search-pkg-')
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, version: '2.3.4', main: 'index.js', license: 'MIT', ...extra }, null, 2))
    await writeFile(path.join(dir, 'index.js'), 'module.exports = 1\n')
    const result = await npm(['publish'], dir)
    expect(result.code, explain(result)).toBe(0)
  }

  beforeAll(async () => {
    registry = await startRegistry({ config: { packages: { '@*/*': { access: '$authenticated' } } } })
    home = await makeTempDir('sinopia-search-home-')
    const res = await fetch(`${registry.url}-/user/org.couchdb.user:erin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: 'org.couchdb.user:erin', name: 'erin', password: PASSWORD, type: 'user', roles: [], date: new Date().toISOString() }),
    })
    const { token } = (await res.json()) as { token: string }
    // Not `.npmrc`: npm would also read a file of that name in its working folder (home) as project config.
    const npmrc = path.join(home, 'user-npmrc')
    await writeFile(npmrc, `registry=${registry.url}\n//127.0.0.1:${registry.port}/:_authToken=${token}\n`)
    await writeFile(path.join(home, 'anonymous-npmrc'), `registry=${registry.url}\n`)
    env = {
      ...isolatedBaseEnv(),
      HOME: home,
      npm_config_userconfig: npmrc,
      npm_config_cache: path.join(home, 'cache'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    }
    await publish('quartz-clock', { description: 'Keeps time like quartz', keywords: ['time', 'clock'] })
    await publish('@inner/quartz-vault', { description: 'Private quartz storage' })
  }, 90_000)

  afterAll(async () => {
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  it('prints the published package', { timeout: TIMEOUT }, async () => {
    const result = await npm(['search', 'quartz'], home, anonymousEnv())
    expect(result.code, explain(result)).toBe(0)
    expect(result.stdout).toContain('quartz-clock')
    expect(result.stdout).toContain('Keeps time like quartz')
    expect(result.stdout).toMatch(/Version 2\.3\.4 published \d{4}-\d\d-\d\d by erin/)
    expect(result.stdout).not.toContain('quartz-vault')
  })

  it('returns what a logged-in user may read, qualifiers included, as JSON', { timeout: TIMEOUT }, async () => {
    const all = await npm(['search', 'quartz', '--json'])
    expect(all.code, explain(all)).toBe(0)
    const hits = JSON.parse(all.stdout) as NpmSearchHit[]
    expect(hits.map((h) => h.name).sort()).toEqual(['@inner/quartz-vault', 'quartz-clock'])
    const clock = hits.find((h) => h.name === 'quartz-clock')
    expect(clock).toMatchObject({ version: '2.3.4', description: 'Keeps time like quartz', keywords: ['time', 'clock'], publisher: { username: 'erin' } })
    const byKeyword = await npm(['search', 'keywords:clock', '--json'])
    expect((JSON.parse(byKeyword.stdout) as NpmSearchHit[]).map((h) => h.name)).toEqual(['quartz-clock'])
  })
})
