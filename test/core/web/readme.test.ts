import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { renderReadme } from '../../../src/core/web/readme-html.js'

const fixture = () => readFile(new URL('./fixtures/xss-readme.md', import.meta.url), 'utf8')

describe('renderReadme', () => {
  it('renders the XSS fixture inert: no script, handlers, frames, javascript: or data: links, ids', async () => {
    const out = renderReadme(await fixture())?.value ?? ''
    expect(out).not.toMatch(/<script|<iframe|<object|<embed|<svg|<math|<form|<base|<meta|<style/i)
    expect(out).not.toMatch(/\son\w+\s*=/i)
    expect(out).not.toMatch(/<[^>]*javascript:/i) // link texts say "javascript:", no attribute does
    expect(out).not.toMatch(/href="data:/i)
    expect(out).not.toMatch(/\sstyle=|\sid=|srcdoc/i)
    expect(out).not.toContain('__xss')
    expect(out).toContain('a javascript: link</a>')
  })

  it('keeps the markdown: headings, code, tables, safe links with rel=nofollow', async () => {
    const out = renderReadme(await fixture())?.value ?? ''
    expect(out).toContain('<h1>XSS fixture</h1>')
    expect(out).toContain('<h2>Safe content stays</h2>')
    expect(out).toContain('<code>inline code</code>')
    expect(out).toContain('<strong>bold</strong>')
    expect(out).toContain('<a href="https://example.com/docs" rel="nofollow noopener noreferrer">safe link</a>')
    expect(out).toMatch(/<table>[\s\S]*<td>1<\/td>/)
    expect(out).toContain('<code class="language-js">')
    expect(out).toContain('hover me')
  })

  it('keeps images (http and data:), task lists disabled, and nothing for an empty README', () => {
    const out = renderReadme('![logo](https://example.com/logo.png)\n\n- [x] done\n- [ ] todo\n')?.value ?? ''
    expect(out).toContain('<img src="https://example.com/logo.png" alt="logo" />')
    expect(out).toContain('<li><input checked disabled type="checkbox" /> done</li>')
    expect(out).toContain('<li><input disabled type="checkbox" /> todo</li>')
    expect(renderReadme('')).toBeNull()
    expect(renderReadme('ERROR: No README data found!')).toBeNull()
    expect(renderReadme(undefined)).toBeNull()
  })
})
