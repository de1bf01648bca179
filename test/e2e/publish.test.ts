import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  REPO_ROOT,
  cleanupTempDirs,
  isolatedBaseEnv,
  makeProject,
  makeTempDir,
  runNpm,
  runPnpm,
  runProcess,
  runYarn,
  runYarnBerry,
  persistentNpmHome,
  type ClientResult,
} from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * Publishing through the real clients against `sinopia-cli serve`: npm (adduser, whoami,
 * publish, dist-tag, deprecate, owner, star and stars, profile, unpublish), pnpm publish, yarn berry `yarn npm publish`, the
 * errors npm prints for a conflict, a missing login and a forbidden publish, and the
 * dependency-confusion guard. One registry (in front of a fake upstream) serves the whole
 * file; the tests run in order and build on each other, as one person's session would.
 */

const TEST_TIMEOUT = 60_000
const CLIENT_TIMEOUT = 45_000
const PASSWORD = 'publ1sh-Horse'

/** A package folder as a developer has it: package.json and index.js (plus any extra files). */
async function packageDir(name: string, version: string, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await makeTempDir('sinopia-pub-')
  const json = { name, version, description: `${name} for the publish tests`, main: 'index.js', license: 'MIT', ...extra }
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(json, null, 2)}\n`)
  await writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify({ name, version })}\n`)
  return dir
}

async function installedVersion(project: string, name: string): Promise<string> {
  const json = JSON.parse(await readFile(path.join(project, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  return json.version
}

async function installedIndex(project: string, name: string): Promise<string> {
  return readFile(path.join(project, 'node_modules', name, 'index.js'), 'utf8')
}

/** A registry user created straight through the legacy adduser endpoint; returns the token. */
async function createUser(registry: RunningRegistry, name: string): Promise<string> {
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: PASSWORD, email: `${name}@example.com`, type: 'user', roles: [], date: new Date().toISOString() }),
  })
  const body = (await res.json()) as { token?: string }
  if (res.status !== 201 || typeof body.token !== 'string') throw new Error(`adduser ${name}: ${res.status} ${JSON.stringify(body)}`)
  return body.token
}

const explain = (result: ClientResult, registry: RunningRegistry) =>
  `exit ${result.code}${result.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}\n--- server (tail) ---\n${registry.output().slice(-4000)}`

describe('publishing through npm, pnpm and yarn berry to sinopia-cli serve', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let home: string
  let npmrc: string
  let env: Record<string, string>
  /** The nerf-darted auth key npm and pnpm read from an .npmrc or (npm) from the environment. */
  let authKey: string

  beforeAll(async () => {
    upstream = await startFakeUpstream()
    registry = await startRegistry({ upstreamUrl: upstream.url })
    authKey = `//127.0.0.1:${registry.port}/:_authToken`

    // Names matching 'restricted-*' may be published by "someone-else" only. The rule must come before
    // the catch-all '**', which startRegistry's config merge cannot do: `acl set` places it, and
    // SIGHUP makes the running server read it at once.
    const acl = await runProcess(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'run.js'), 'acl', 'set', 'restricted-*', '--access', '$all', '--publish', 'someone-else', '--config', registry.configFile],
      { cwd: REPO_ROOT, env: isolatedBaseEnv(), timeoutMs: 30_000 },
    )
    if (acl.code !== 0) throw new Error(`acl set failed: ${acl.stdout}\n${acl.stderr}`)
    const reloaded = registry.waitForOutput(/config reloaded/, 10_000)
    registry.process.kill('SIGHUP')
    await reloaded

    ;({ home, npmrc, env } = await persistentNpmHome(registry.url, 'sinopia-publish-home-'))
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  /** npm as the logged-in developer: the HOME and .npmrc (with the token adduser saved) persist. */
  const npm = (args: string[], cwd = home) => runProcess('npm', args, { cwd, env, timeoutMs: CLIENT_TIMEOUT })
  /** npm in a fresh sandbox (new HOME, cache and .npmrc, no login), as a second machine. */
  const freshNpm = (args: string[], cwd: string, extraEnv: Record<string, string> = {}) =>
    runNpm(args, { cwd, registry: registry.url, env: extraEnv, timeoutMs: CLIENT_TIMEOUT })
  const viewJson = async (args: string[]) => {
    const result = await npm(['view', ...args, '--json'])
    expect(result.code, explain(result, registry)).toBe(0)
    return result.stdout.trim() === '' ? undefined : (JSON.parse(result.stdout) as unknown)
  }

  /** npm adduser reads one readline per prompt: answer each after it appears. */
  async function adduser(name: string): Promise<ClientResult> {
    const child = spawn('npm', ['adduser', '--auth-type=legacy'], { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    const answers: [RegExp, string][] = [
      [/Username:/, name],
      [/Password:/, PASSWORD],
      [/Email.*:/, `${name}@example.com`],
    ]
    let consumed = 0
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text
      const next = answers[0]
      if (!next) return
      const match = stdout.slice(consumed).match(next[0])
      if (match) {
        consumed += (match.index ?? 0) + match[0].length
        answers.shift()
        child.stdin.write(`${next[1]}\n`)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), CLIENT_TIMEOUT)
    return new Promise((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({ code, signal, timedOut: signal === 'SIGKILL', stdout, stderr })
      })
    })
  }

  describe('npm', () => {
    it('adduser --auth-type=legacy, then whoami', { timeout: TEST_TIMEOUT }, async () => {
      const result = await adduser('alice')
      expect(result.code, explain(result, registry)).toBe(0)
      expect(result.stdout).toContain(`Logged in on ${registry.url}`)
      expect(await readFile(npmrc, 'utf8')).toMatch(/:_authToken=\S+/)
      const whoami = await npm(['whoami'])
      expect(whoami.code, explain(whoami, registry)).toBe(0)
      expect(whoami.stdout.trim()).toBe('alice')
    })

    it('publishes a plain package, a scoped one (--access public) and a prerelease with --tag beta', { timeout: TEST_TIMEOUT }, async () => {
      for (const [name, version, args] of [
        ['pub-plain', '1.0.0', []],
        ['@acme/pub-scoped', '1.0.0', ['--access', 'public']],
        ['pub-plain', '1.1.0-beta.0', ['--tag', 'beta']],
      ] as const) {
        const result = await npm(['publish', ...args], await packageDir(name, version))
        expect(result.code, explain(result, registry)).toBe(0)
        expect(result.stdout).toContain(`+ ${name}@${version}`)
      }
      expect(registry.output()).toMatch(/published pub-plain@1\.0\.0 by alice/)
      expect(await viewJson(['pub-plain', 'dist-tags'])).toEqual({ latest: '1.0.0', beta: '1.1.0-beta.0' })
      expect(await viewJson(['pub-plain', 'versions'])).toEqual(['1.0.0', '1.1.0-beta.0'])
      expect(await viewJson(['@acme/pub-scoped', 'version'])).toBe('1.0.0')
    })

    it('a second machine installs them (fresh project, fresh cache)', { timeout: TEST_TIMEOUT }, async () => {
      const project = await makeProject({ 'pub-plain': '^1.0.0', '@acme/pub-scoped': '1.0.0' })
      const result = await freshNpm(['install'], project)
      expect(result.code, explain(result, registry)).toBe(0)
      expect(await installedVersion(project, 'pub-plain')).toBe('1.0.0')
      expect(await installedIndex(project, 'pub-plain')).toContain('"version":"1.0.0"')
      expect(await installedVersion(project, '@acme/pub-scoped')).toBe('1.0.0')
      expect(await installedIndex(project, '@acme/pub-scoped')).toContain('"name":"@acme/pub-scoped"')

      const beta = await makeProject({})
      const tagged = await freshNpm(['install', 'pub-plain@beta'], beta)
      expect(tagged.code, explain(tagged, registry)).toBe(0)
      expect(await installedVersion(beta, 'pub-plain')).toBe('1.1.0-beta.0')
    })

    it('dist-tag add, ls and rm', { timeout: TEST_TIMEOUT }, async () => {
      const add = await npm(['dist-tag', 'add', 'pub-plain@1.0.0', 'stable'])
      expect(add.code, explain(add, registry)).toBe(0)
      expect(add.stdout).toContain('+stable: pub-plain@1.0.0')
      const ls = await npm(['dist-tag', 'ls', 'pub-plain'])
      expect(ls.code, explain(ls, registry)).toBe(0)
      expect(ls.stdout.trim().split('\n').sort()).toEqual(['beta: 1.1.0-beta.0', 'latest: 1.0.0', 'stable: 1.0.0'])
      const rm = await npm(['dist-tag', 'rm', 'pub-plain', 'stable'])
      expect(rm.code, explain(rm, registry)).toBe(0)
      expect(rm.stdout).toContain('-stable: pub-plain@1.0.0')
      const after = await npm(['dist-tag', 'ls', 'pub-plain'])
      expect(after.stdout.trim().split('\n').sort()).toEqual(['beta: 1.1.0-beta.0', 'latest: 1.0.0'])
    })

    it('deprecate shows in npm view and warns on install; an empty message undoes it', { timeout: TEST_TIMEOUT }, async () => {
      const deprecate = await npm(['deprecate', 'pub-plain@1.0.0', 'use 2'])
      expect(deprecate.code, explain(deprecate, registry)).toBe(0)
      expect(await viewJson(['pub-plain@1.0.0', 'deprecated'])).toBe('use 2')

      const project = await makeProject({})
      const install = await freshNpm(['install', 'pub-plain@1.0.0'], project)
      expect(install.code, explain(install, registry)).toBe(0)
      expect(install.stderr).toMatch(/npm warn deprecated pub-plain@1\.0\.0: use 2/)
      expect(await installedVersion(project, 'pub-plain')).toBe('1.0.0')

      const undo = await npm(['deprecate', 'pub-plain@1.0.0', ''])
      expect(undo.code, explain(undo, registry)).toBe(0)
      expect(await viewJson(['pub-plain@1.0.0', 'deprecated'])).toBeUndefined()
      const again = await freshNpm(['install', 'pub-plain@1.0.0'], await makeProject({}))
      expect(again.code, explain(again, registry)).toBe(0)
      expect(again.stderr).not.toMatch(/deprecated/)
    })

    it('owner add, ls and rm of another user', { timeout: TEST_TIMEOUT }, async () => {
      await createUser(registry, 'bob')
      const add = await npm(['owner', 'add', 'bob', 'pub-plain'])
      expect(add.code, explain(add, registry)).toBe(0)
      expect(add.stdout).toContain('+ bob (pub-plain)')
      const ls = await npm(['owner', 'ls', 'pub-plain'])
      expect(ls.code, explain(ls, registry)).toBe(0)
      expect(ls.stdout.trim().split('\n').map((line) => line.split(' ')[0]).sort()).toEqual(['alice', 'bob'])
      const unknown = await npm(['owner', 'add', 'nobody-here', 'pub-plain'])
      expect(unknown.code).not.toBe(0)
      expect(unknown.stderr).toMatch(/E404/)
      const rm = await npm(['owner', 'rm', 'bob', 'pub-plain'])
      expect(rm.code, explain(rm, registry)).toBe(0)
      expect(rm.stdout).toContain('- bob (pub-plain)')
      expect(await viewJson(['pub-plain', 'maintainers'])).toEqual(expect.arrayContaining([expect.stringMatching(/^alice/)]))
      const after = await npm(['owner', 'ls', 'pub-plain'])
      expect(after.stdout).not.toMatch(/bob/)
    })

    it('star and unstar keep every version; profile get shows the user', { timeout: TEST_TIMEOUT }, async () => {
      const before = await viewJson(['pub-plain', 'versions'])
      const star = await npm(['star', 'pub-plain'])
      expect(star.code, explain(star, registry)).toBe(0)
      expect(await viewJson(['pub-plain', 'users'])).toEqual({ alice: true })
      expect(await viewJson(['pub-plain', 'versions'])).toEqual(before)
      for (const args of [['stars'], ['stars', 'alice']]) {
        const stars = await npm(args)
        expect(stars.code, explain(stars, registry)).toBe(0)
        expect(stars.stdout.trim().split(/\s+/)).toEqual(['pub-plain'])
      }
      const unstar = await npm(['unstar', 'pub-plain'])
      expect(unstar.code, explain(unstar, registry)).toBe(0)
      expect(await viewJson(['pub-plain', 'versions'])).toEqual(before)
      const none = await npm(['stars', 'alice'])
      expect(none.stdout).not.toContain('pub-plain')
      const profile = await npm(['profile', 'get', 'name'])
      expect(profile.code, explain(profile, registry)).toBe(0)
      expect(profile.stdout.trim()).toBe('alice')
    })

    it('unpublish one version, then the whole package', { timeout: TEST_TIMEOUT }, async () => {
      const one = await npm(['unpublish', 'pub-plain@1.1.0-beta.0'])
      expect(one.code, explain(one, registry)).toBe(0)
      expect(one.stdout).toContain('- pub-plain@1.1.0-beta.0')
      expect(await viewJson(['pub-plain', 'versions'])).toEqual(['1.0.0'])
      expect(await viewJson(['pub-plain', 'dist-tags'])).toEqual({ latest: '1.0.0' })
      expect((await fetch(`${registry.url}pub-plain/-/pub-plain-1.1.0-beta.0.tgz`)).status).toBe(404)
      expect((await fetch(`${registry.url}pub-plain/-/pub-plain-1.0.0.tgz`)).status).toBe(200)

      const all = await npm(['unpublish', 'pub-plain', '--force'])
      expect(all.code, explain(all, registry)).toBe(0)
      expect(all.stdout).toContain('- pub-plain')
      const gone = await npm(['view', 'pub-plain'])
      expect(gone.code).not.toBe(0)
      expect(gone.stderr).toMatch(/E404/)
      expect((await fetch(`${registry.url}pub-plain`)).status).toBe(404)
      expect((await fetch(`${registry.url}pub-plain/-/pub-plain-1.0.0.tgz`)).status).toBe(404)
      // The scoped package published alongside is untouched.
      expect(await viewJson(['@acme/pub-scoped', 'version'])).toBe('1.0.0')
    })
  })

  describe('errors through npm', () => {
    it('publishing an existing version again: npm refuses by itself, and with --force the server answers 409', { timeout: TEST_TIMEOUT }, async () => {
      const dir = await packageDir('pub-conflict', '1.0.0')
      const first = await npm(['publish'], dir)
      expect(first.code, explain(first, registry)).toBe(0)
      const puts = () => registry.output().match(/PUT \/pub-conflict \d+/g) ?? []
      expect(puts()).toEqual(['PUT /pub-conflict 201'])

      // npm 11 reads the packument first and stops before sending anything.
      const second = await npm(['publish'], dir)
      expect(second.code).not.toBe(0)
      expect(second.stderr, explain(second, registry)).toMatch(/You cannot publish over the previously published versions: 1\.0\.0/)
      expect(puts()).toHaveLength(1)

      // --force skips that check: the PUT reaches the server, which must refuse it.
      const forced = await npm(['publish', '--force'], dir)
      expect(forced.code).not.toBe(0)
      expect(forced.stderr, explain(forced, registry)).toMatch(/E409/)
      expect(forced.stderr).toMatch(/409 Conflict - PUT \S+ - cannot publish over the previously published version/i)
      // The server logs a request once its answer is sent: npm may have read it and exited first.
      await registry.waitForOutput('PUT /pub-conflict 409')
      expect(puts()).toEqual(['PUT /pub-conflict 201', 'PUT /pub-conflict 409'])
      expect(await viewJson(['pub-conflict', 'versions'])).toEqual(['1.0.0'])
    })

    it('publishing without a login: npm stops with ENEEDAUTH; with a token the server does not know, 401', { timeout: TEST_TIMEOUT }, async () => {
      const dir = await packageDir('pub-anonymous', '1.0.0')
      // npm checks for credentials itself before sending the PUT.
      const anonymous = await freshNpm(['publish'], dir)
      expect(anonymous.code).not.toBe(0)
      expect(anonymous.stderr, explain(anonymous, registry)).toMatch(/ENEEDAUTH/)
      expect(registry.output()).not.toMatch(/PUT \/pub-anonymous/)

      const bogus = await freshNpm(['publish'], dir, { [`npm_config_${authKey}`]: 'snp_not-a-real-token' })
      expect(bogus.code).not.toBe(0)
      expect(bogus.stderr, explain(bogus, registry)).toMatch(/E401/)
      expect(bogus.stderr).toMatch(/401 Unauthorized - PUT \S+ - invalid or revoked token/)
      expect(registry.output()).toMatch(/PUT \/pub-anonymous 401/)
      expect((await fetch(`${registry.url}pub-anonymous`)).status).toBe(404)
    })

    it('publishing a name the user may not publish: 403', { timeout: TEST_TIMEOUT }, async () => {
      const result = await npm(['publish'], await packageDir('restricted-thing', '1.0.0'))
      expect(result.code).not.toBe(0)
      expect(result.stderr, explain(result, registry)).toMatch(/E403/)
      expect(result.stderr).toMatch(/403 Forbidden - PUT \S+\/restricted-thing/)
      expect(registry.output()).toMatch(/PUT \/restricted-thing 403/)
      expect((await fetch(`${registry.url}restricted-thing`)).status).toBe(404)
    })
  })

  describe('pnpm, yarn classic and yarn berry', () => {
    it('pnpm publish with a token from the .npmrc, then pnpm install in a fresh project', { timeout: TEST_TIMEOUT }, async () => {
      const token = await createUser(registry, 'pnpm-user')
      const dir = await packageDir('pub-by-pnpm', '1.0.0')
      await writeFile(path.join(dir, '.npmrc'), `${authKey}=${token}\n`)
      const publish = await runPnpm(['publish', '--no-git-checks'], { cwd: dir, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      expect(publish.code, explain(publish, registry)).toBe(0)
      expect(registry.output()).toMatch(/published pub-by-pnpm@1\.0\.0 by pnpm-user/)

      const project = await makeProject({ 'pub-by-pnpm': '^1.0.0' })
      const install = await runPnpm(['install'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      expect(install.code, explain(install, registry)).toBe(0)
      expect(await installedVersion(project, 'pub-by-pnpm')).toBe('1.0.0')
      expect(await installedIndex(project, 'pub-by-pnpm')).toContain('"name":"pub-by-pnpm"')
    })

    it('yarn classic publish and tag add with a token from the .npmrc', { timeout: TEST_TIMEOUT }, async () => {
      const token = await createUser(registry, 'classic-user')
      const dir = await packageDir('pub-by-yarn1', '1.0.0')
      await writeFile(path.join(dir, '.npmrc'), `${authKey}=${token}\n`)
      const yarn1 = (args: string[]) => runYarn(args, { cwd: dir, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      const publish = await yarn1(['publish', '--new-version', '1.0.0', '--no-git-tag-version'])
      expect(publish.code, explain(publish, registry)).toBe(0)
      expect(registry.output()).toMatch(/published pub-by-yarn1@1\.0\.0 by classic-user/)
      const tag = await yarn1(['tag', 'add', 'pub-by-yarn1@1.0.0', 'stable'])
      expect(tag.code, explain(tag, registry)).toBe(0)
      expect(await viewJson(['pub-by-yarn1', 'dist-tags'])).toEqual({ latest: '1.0.0', stable: '1.0.0' })
    })

    it('yarn npm publish with a token, then npm install in a fresh project', { timeout: TEST_TIMEOUT }, async () => {
      const token = await createUser(registry, 'yarn-user')
      const dir = await packageDir('@acme/pub-by-yarn', '2.0.0')
      const berry = (args: string[]) => runYarnBerry(args, { cwd: dir, registry: registry.url, token, timeoutMs: CLIENT_TIMEOUT })
      // yarn berry publishes from a project: without a lockfile entry for the package itself it stops
      // with "This package doesn't seem to be present in your lockfile". An install (no dependencies,
      // nothing fetched) writes one.
      const install = await berry(['install'])
      expect(install.code, explain(install, registry)).toBe(0)
      const publish = await berry(['npm', 'publish', '--access', 'public'])
      expect(publish.code, explain(publish, registry)).toBe(0)
      expect(registry.output()).toMatch(/published @acme\/pub-by-yarn@2\.0\.0 by yarn-user/)

      const project = await makeProject({ '@acme/pub-by-yarn': '^2.0.0' })
      const npmInstall = await freshNpm(['install'], project)
      expect(npmInstall.code, explain(npmInstall, registry)).toBe(0)
      expect(await installedVersion(project, '@acme/pub-by-yarn')).toBe('2.0.0')
      expect(await installedIndex(project, '@acme/pub-by-yarn')).toContain('"version":"2.0.0"')
    })
  })

  describe('the tarball checked against the manifest', () => {
    it('takes a package npm normalises on publish (bin string, binding.gyp, server.js, git and optional dependencies)', { timeout: TEST_TIMEOUT }, async () => {
      const dir = await packageDir('pub-normalised', '1.0.0', {
        bin: './cli.js',
        scripts: { test: 'node_modules/.bin/tap' },
        dependencies: { 'left-pad': 'github:someone/left-pad', 'is-even': '^1.0.0' },
        optionalDependencies: { 'is-even': '^1.0.0' },
      })
      await writeFile(path.join(dir, 'cli.js'), '#!/usr/bin/env node\n')
      await writeFile(path.join(dir, 'binding.gyp'), '{"targets": []}\n')
      await writeFile(path.join(dir, 'server.js'), '\n')
      const result = await npm(['publish'], dir)
      expect(result.code, explain(result, registry)).toBe(0)
      const scripts = await viewJson(['pub-normalised', 'scripts'])
      expect(scripts).toMatchObject({ install: 'node-gyp rebuild', start: 'node server.js' })
    })
  })

  describe('dependency confusion', () => {
    it('a locally published name is never fetched from the upstream, even when it has a higher version there', { timeout: TEST_TIMEOUT }, async () => {
      const publish = await npm(['publish'], await packageDir('internal-lib', '1.0.0'))
      expect(publish.code, explain(publish, registry)).toBe(0)
      // npm reads the packument twice before its PUT; the name is not local yet, so the registry
      // may ask the upstream then (it answers 404). From the publish on, never again.
      const askedDuringPublish = upstream.count((r) => r.url.includes('internal-lib'))
      expect(upstream.requests.filter((r) => r.url.includes('internal-lib')).every((r) => r.method === 'GET')).toBe(true)

      upstream.addPackage(await buildPackage({ name: 'internal-lib', version: '9.9.9' }))
      const project = await makeProject({})
      const install = await freshNpm(['install', 'internal-lib'], project)
      expect(install.code, explain(install, registry)).toBe(0)
      expect(await installedVersion(project, 'internal-lib')).toBe('1.0.0')
      expect(await viewJson(['internal-lib', 'versions'])).toEqual(['1.0.0'])
      expect(upstream.count((r) => r.url.includes('internal-lib'))).toBe(askedDuringPublish)
    })
  })
})
