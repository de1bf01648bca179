import { afterAll, describe, expect, it } from 'vitest'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'

/** Verdaccio's web settings honoured: web.title in every page's title and header, web.login, web.enable. */
describe('web: {title, login, enable}', () => {
  afterAll(cleanupRegistries)

  it('shows web.title and, with login: false, offers no login', async () => {
    const registry = await startRegistry({ config: { web: { title: 'Acme <registry>', login: false } } })
    const page = await (await fetch(registry.url)).text()
    expect(page).toContain('<title>Packages · Acme &lt;registry&gt;</title>')
    expect(page).toContain('class="brand" href="/">Acme &lt;registry&gt;</a>')
    expect(page).not.toContain('Log in')
    expect((await fetch(`${registry.url}-/web/login`)).status).toBe(404)
    expect(registry.output()).not.toMatch(/web: ignored/)
  })

  it('with enable: false serves no pages, and the registry API as before', async () => {
    const registry = await startRegistry({ config: { web: { enable: false } } })
    expect((await fetch(registry.url)).status).toBe(404)
    expect((await fetch(`${registry.url}-/web/login`)).status).toBe(200)
    expect((await fetch(`${registry.url}-/ping`)).status).toBe(200)
  })
})
