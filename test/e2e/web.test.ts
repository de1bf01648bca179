import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, cleanupTempDirs, isolatedBaseEnv, makeTempDir, runProcess, type ClientResult } from '../helpers/clients.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { publishBody } from '../core/search/helpers.js'

/**
 * The web pages in a real browser: Debian's chromium, driven by playwright-core (no browser
 * download; `.ci/run` installs the package). Against `sinopia-cli serve` where scoped
 * packages are private: publish with npm, find by typing, read the package page, log in to
 * see a private package, open a README full of XSS attempts, and see a package published
 * while the page is open after a reload. Screenshots go to test-artifacts/web/.
 */

const TEST_TIMEOUT = 60_000
const PASSWORD = 'w3b-Horse-battery'
const SHOTS = path.join(REPO_ROOT, 'test-artifacts', 'web')
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error("Debian's chromium is not installed: apt-get install -y chromium (npm test does it: scripts/test-setup.js)")
  }
}

async function createUser(registry: RunningRegistry, name: string): Promise<string> {
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: PASSWORD, type: 'user', roles: [], date: new Date().toISOString() }),
  })
  const body = (await res.json()) as { token?: string }
  if (res.status !== 201 || !body.token) throw new Error(`adduser ${name}: ${res.status} ${JSON.stringify(body)}`)
  return body.token
}

describe('the web pages in headless Chromium', () => {
  let registry: RunningRegistry
  let token: string
  let context: BrowserContext
  let page: Page
  const dialogs: string[] = []
  const cspViolations: string[] = []

  const explain = (result: ClientResult) => `exit ${result.code}\n${result.stdout}\n${result.stderr}\n--- server ---\n${registry.output().slice(-3000)}`

  /** `npm publish` of a folder with package.json, index.js and README.md, as the logged-in user. */
  async function npmPublish(name: string, version: string, readme: string, extra: Record<string, unknown> = {}): Promise<void> {
    const dir = await makeTempDir('sinopia-web-pkg-')
    const home = await makeTempDir('sinopia-web-home-')
    const json = { name, version, description: `${name}: a package for the web page tests`, main: 'index.js', license: 'MIT', ...extra }
    await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(json, null, 2)}\n`)
    await writeFile(path.join(dir, 'index.js'), 'module.exports = 42\n')
    await writeFile(path.join(dir, 'README.md'), readme)
    const npmrc = path.join(home, '.npmrc')
    await writeFile(npmrc, `registry=${registry.url}\n//127.0.0.1:${registry.port}/:_authToken=${token}\n`)
    const env = { ...isolatedBaseEnv(), HOME: home, npm_config_userconfig: npmrc, npm_config_cache: path.join(home, 'cache'), npm_config_update_notifier: 'false' }
    const result = await runProcess('npm', ['publish'], { cwd: dir, env, timeoutMs: 30_000 })
    expect(result.code, explain(result)).toBe(0)
  }

  /** A publish straight through the API (what npm sends), for the packages whose client does not matter here. */
  async function apiPublish(name: string, version: string, fields: Record<string, unknown> = {}): Promise<void> {
    const pkg = await buildPackage({ name, version, description: `${name} for the web tests` })
    const res = await fetch(`${registry.url}${name.replace('/', '%2f')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(publishBody(pkg, fields)),
    })
    expect(res.status, await res.text()).toBe(201)
  }

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true })
    // Scoped packages are private: only logged-in users may read them.
    registry = await startRegistry({ config: { packages: { '@*/*': { access: '$authenticated' } } } })
    token = await createUser(registry, 'dana')
    const readme = '# Web demo widget\n\nA widget that **demonstrates** the web page.\n\n```js\nrequire("web-demo-widget")\n```\n'
    await npmPublish('web-demo-widget', '1.0.0', readme, { keywords: ['demo', 'widget'] })
    await npmPublish('web-demo-widget', '1.1.0', readme, { keywords: ['demo', 'widget'] })
    await apiPublish('@team/secret-plans', '1.0.0', { readme: '# Secret plans' })
    await apiPublish('xss-fixture', '1.0.0', { readme: await readFile(path.join(REPO_ROOT, 'test', 'core', 'web', 'fixtures', 'xss-readme.md'), 'utf8') })

    context = await chromium.launchPersistentContext(await makeTempDir('sinopia-chromium-'), {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1200, height: 900 },
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`)
      void dialog.dismiss()
    })
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text())
    })
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  it('finds a published package by typing, and shows its README and versions', { timeout: TEST_TIMEOUT }, async () => {
    await page.goto(registry.url)
    await expect.poll(() => page.locator('#results li.package').count()).toBe(2)
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1))
    await page.locator('#q').pressSequentially('demo-wid', { delay: 30 })
    // The list is swapped in by the script (no page load: the marker survives), the URL follows.
    await expect.poll(() => new URL(page.url()).search).toBe('?q=demo-wid')
    await expect.poll(() => page.locator('#results li.package').count()).toBe(1)
    expect(await page.locator('#results .count').textContent()).toBe('1 package matching demo-wid')
    expect(await page.locator('#results li[data-name="web-demo-widget"] .badge').textContent()).toBe('local')
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1)
    await shot('1-search')

    await page.locator('#results a.name', { hasText: 'web-demo-widget' }).click()
    await page.waitForURL(/\/-\/web\/package\/web-demo-widget$/)
    expect(await page.locator('h1').first().textContent()).toContain('web-demo-widget')
    expect(await page.locator('.readme h1').textContent()).toBe('Web demo widget')
    expect(await page.locator('.readme strong').textContent()).toBe('demonstrates')
    expect(await page.locator('.install code').textContent()).toBe('npm install web-demo-widget')
    expect(await page.locator('.versions td.version').allTextContents()).toEqual(['1.1.0', '1.0.0'])
    expect(await page.locator('.dist-tags tr').allTextContents()).toEqual(['latest1.1.0'])
    await shot('2-package')
  })

  it('shows a private package only after logging in', { timeout: TEST_TIMEOUT }, async () => {
    await page.goto(registry.url)
    expect(await page.locator('#results li[data-name="@team/secret-plans"]').count()).toBe(0)
    const anonymous = await page.evaluate(async () => (await (await fetch('/-/v1/search?text=secret')).json()) as { total: number })
    expect(anonymous.total).toBe(0)
    await page.goto(`${registry.url}-/web/package/@team/secret-plans`)
    expect(await page.locator('h1').textContent()).toBe('Not found')

    await page.locator('main a', { hasText: 'log in' }).click()
    await page.locator('#name').fill('dana')
    await page.locator('#password').fill(PASSWORD)
    await page.locator('button[type="submit"]').click()
    await page.waitForURL(/\/-\/web\/package\/@team\/secret-plans$/)
    expect(await page.locator('h1').first().textContent()).toContain('@team/secret-plans')
    expect(await page.locator('header .user').textContent()).toBe('dana')
    expect(await page.locator('.readme h1').textContent()).toBe('Secret plans')
    await shot('3-private-package')

    await page.goto(registry.url)
    await page.locator('#results li[data-name="@team/secret-plans"]').waitFor()
    const loggedIn = await page.evaluate(async () => (await (await fetch('/-/v1/search?text=secret')).json()) as { total: number })
    expect(loggedIn.total).toBe(1)
    await shot('4-list-logged-in')
  })

  it('renders the XSS fixture README inert: no dialog, no script ran, nothing for the CSP to block', { timeout: TEST_TIMEOUT }, async () => {
    await page.goto(`${registry.url}-/web/package/xss-fixture`, { waitUntil: 'load' })
    expect(await page.locator('.readme h2').textContent()).toBe('Safe content stays')
    await page.locator('.readme details summary').click()
    await page.locator('.readme div', { hasText: 'hover me' }).hover()
    const state = await page.evaluate(() => ({
      xss: (window as unknown as { __xss?: unknown }).__xss,
      title: document.title,
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      dangerous: document.querySelectorAll('.readme script, .readme iframe, .readme object, .readme embed, .readme form, .readme svg, .readme base, .readme meta').length,
      handlers: [...document.querySelectorAll('.readme *')].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
      hrefs: [...document.querySelectorAll('.readme a')].map((a) => a.getAttribute('href')).filter((h) => h !== null),
      resultsHijacked: document.querySelectorAll('#results').length,
    }))
    expect(state.xss).toBeUndefined()
    expect(state.title).toBe('xss-fixture · sinopia')
    expect(state.scripts).toHaveLength(1)
    expect(state.scripts[0]).toMatch(/^\/-\/web\/static\/app\.js\?v=/)
    expect(state.dangerous).toBe(0)
    expect(state.handlers).toEqual([])
    expect(state.hrefs).toEqual(['https://example.com/docs'])
    expect(state.resultsHijacked).toBe(0)
    expect(dialogs).toEqual([])
    expect(cspViolations).toEqual([])
    expect(registry.output()).not.toContain('xss-beacon')
    // And the header forbids inline script even if some markup got through.
    const inline = await page.evaluate(() => {
      const script = document.createElement('script')
      script.textContent = 'window.__inline = 1'
      document.body.append(script)
      return (window as unknown as { __inline?: number }).__inline
    })
    expect(inline).toBeUndefined()
    await shot('5-xss-fixture')
  })

  it('lists a package published while the page is open after a reload, and reads well on a phone', { timeout: TEST_TIMEOUT }, async () => {
    await page.goto(registry.url)
    expect(await page.locator('#results li[data-name="fresh-arrival"]').count()).toBe(0)
    await apiPublish('fresh-arrival', '0.1.0')
    await page.reload()
    await page.locator('#results li[data-name="fresh-arrival"]').waitFor()

    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${registry.url}-/web/package/web-demo-widget`)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await shot('6-phone-package')
  })
})
