import type { IndexState, PackageSummary, SearchAnswer } from '../search/index.js'
import { html, type SafeHtml } from './html.js'
import { layout, type Chrome } from './layout.js'
import { listPage, packagePage } from './urls.js'

/** Packages per page of the list. */
export const PAGE_SIZE = 25

export interface ListView {
  q: string
  /** 1-based. */
  page: number
  answer: SearchAnswer
  indexState: IndexState
  indexed: number
}

/** The front page: the search box and the first results, rendered on the server. */
export function listPageHtml(chrome: Chrome, view: ListView): string {
  const content = html`<form class="search" role="search" method="get" action="${chrome.root}">
<input id="q" name="q" type="search" value="${view.q}" placeholder="Search packages (name, keywords:, author:, scope:)" aria-label="Search packages" autocomplete="off" spellcheck="false">
<button type="submit">Search</button>
</form>
<div id="results" aria-live="polite">${listFragment(chrome.root, view)}</div>`
  return layout(chrome, view.q ? `${view.q} - search` : 'Packages', content)
}

/** The result list with its count and pager: the part live search replaces. */
export function listFragment(root: string, view: ListView): SafeHtml {
  const { answer, q, page } = view
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE))
  const noun = answer.total === 1 ? 'package' : 'packages'
  const building = view.indexState === 'building' ? html` <span class="indexing">(still indexing the store: ${view.indexed} so far)</span>` : ''
  const count = q ? html`${answer.total} ${noun} matching <q class="query">${q}</q>` : html`${answer.total} ${noun}`
  const items = answer.results.map(({ summary }) => item(root, summary))
  const pager =
    pages > 1
      ? html`<nav class="pager" aria-label="Pages">
${page > 1 ? html`<a rel="prev" data-page="${page - 1}" href="${listPage(root, q, page - 1)}">‹ Previous</a>` : html`<span></span>`}
<span class="page-of">Page ${page} of ${pages}</span>
${page < pages ? html`<a rel="next" data-page="${page + 1}" href="${listPage(root, q, page + 1)}">Next ›</a>` : html`<span></span>`}
</nav>`
      : ''
  return html`<p class="count">${count}${building}</p>
${items.length > 0 ? html`<ul class="packages">${items}</ul>` : html`<p class="empty">Nothing here${q ? ' matches' : ' yet'}.</p>`}
${pager}`
}

function item(root: string, summary: PackageSummary): SafeHtml {
  const who = summary.publisher?.name ?? summary.maintainers[0]?.name ?? summary.author?.name
  const meta = [summary.date ? `published ${summary.date.slice(0, 10)}` : null, who ? `by ${who}` : null, summary.keywords.length > 0 ? summary.keywords.slice(0, 8).join(', ') : null]
    .filter((part): part is string => part !== null)
    .join(' · ')
  return html`<li class="package" data-name="${summary.name}">
<a class="name" href="${packagePage(root, summary.name)}">${summary.name}</a>
<span class="version">${summary.version}</span>
<span class="badge ${summary.origin}">${summary.origin}</span>${summary.deprecated ? html` <span class="badge deprecated">deprecated</span>` : ''}
${summary.description ? html`<p class="description">${summary.description}</p>` : ''}
${meta ? html`<p class="meta">${meta}</p>` : ''}
</li>`
}
