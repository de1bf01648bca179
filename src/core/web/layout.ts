import { ASSETS } from './assets.js'
import { html, type SafeHtml } from './html.js'
import { WEB, loginPage } from './urls.js'

/** What every page shows around its content. */
export interface Chrome {
  /** Path of the public base URL, ending with '/'. */
  root: string
  /** The public base URL (for the `npm set registry` line). */
  base: string
  /** Logged-in user of the web session, or null. */
  user: string | null
  /** Path and query of this page: where a login returns to. */
  here: string
  /** The site's name in titles and the header (`web.title`). */
  site: string
  /** Whether the page offers a login (`web.login`). */
  login: boolean
}

/** A whole page: the stylesheet and the one script as files, the login state in the header. */
export function layout(chrome: Chrome, title: string, content: SafeHtml): string {
  const { root } = chrome
  const account = chrome.user
    ? html`<span>Logged in as <strong class="user">${chrome.user}</strong></span>
<form method="post" action="${root}${WEB}logout"><button class="link-button" type="submit">Log out</button></form>`
    : chrome.login
      ? html`<a class="login-link" href="${loginPage(root, chrome.here)}">Log in</a>`
      : html``
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · ${chrome.site}</title>
<link rel="stylesheet" href="${root}${WEB}static/style.css?v=${ASSETS['style.css'].version}">
<script src="${root}${WEB}static/app.js?v=${ASSETS['app.js'].version}" defer></script>
</head><body data-root="${root}">
<header class="top"><a class="brand" href="${root}">${chrome.site}</a><nav>${account}</nav></header>
<main>${content}</main>
<footer>Use this registry: <code>npm set registry ${chrome.base}</code></footer>
</body></html>
`.value
}
