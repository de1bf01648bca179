import { html } from './html.js'
import { layout, type Chrome } from './layout.js'
import { WEB, loginPage } from './urls.js'

/** The web login form: posts name, password and where to return to. */
export function loginPageHtml(chrome: Chrome, options: { next: string; name?: string; error?: string }): string {
  const content = html`<section class="login"><h1>Log in</h1>
<p>Use the same user name and password as <code>npm login</code>.</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="${chrome.root}${WEB}login">
<input type="hidden" name="next" value="${options.next}">
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" required autofocus value="${options.name ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></section>`
  return layout(chrome, 'Log in', content)
}

/**
 * A package that does not exist and one the visitor may not read look the same, so a page
 * never tells which private names exist. Anonymous visitors are offered the login.
 */
export function notFoundPageHtml(chrome: Chrome, name: string): string {
  const content = html`<h1>Not found</h1>
<p>There is no package <code>${name}</code> here${chrome.user ? ' that you may see' : ''}.</p>
${chrome.user ? '' : html`<p>If it is private, <a href="${loginPage(chrome.root, chrome.here)}">log in</a> to see it.</p>`}
<p><a href="${chrome.root}">All packages</a></p>`
  return layout(chrome, 'Not found', content)
}
