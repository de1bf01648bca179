import { describe, expect, it } from 'vitest'
import { html, packagePath, safeNext, trusted } from '../../../src/core/web/index.js'

describe('html', () => {
  it('escapes every interpolated value unless it is already SafeHtml', () => {
    const name = `<img src=x onerror="alert('x')">&`
    expect(html`<a title="${name}">${name}</a>`.value).toBe(
      '<a title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;</a>',
    )
    expect(html`<ul>${['<1>', html`<li>2</li>`, null, false, undefined, 3]}</ul>`.value).toBe('<ul>&lt;1&gt;<li>2</li>3</ul>')
    expect(html`${trusted('<b>ok</b>')}`.value).toBe('<b>ok</b>')
  })

  it('builds package paths and return addresses that stay on this site', () => {
    expect(packagePath('@acme/tool')).toBe('@acme/tool')
    expect(packagePath("odd'name(1)")).toBe("odd'name(1)")
    expect(safeNext('/-/web/package/x?y=1', '/')).toBe('/-/web/package/x?y=1')
    for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil', 'relative', 42, '/a b']) expect(safeNext(bad, '/')).toBe('/')
    expect(safeNext('/other/', '/npm/')).toBe('/npm/')
    expect(safeNext('/npm/-/web/login', '/npm/')).toBe('/npm/-/web/login')
  })
})
