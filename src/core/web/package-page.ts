import { html, type SafeHtml } from './html.js'
import { layout, type Chrome } from './layout.js'
import type { PackageModel, VersionRow } from './package-model.js'
import { packagePage, tarballLink } from './urls.js'

/** Versions listed openly; older ones fold into a <details>. */
const OPEN_VERSIONS = 30
/** Rows listed at most: a package with 100,000 versions would make a page of megabytes. */
const LISTED_VERSIONS = 1_000

/** The package page. `readme` is the sanitized README (see readme.ts), null when there is none. */
export function packagePageHtml(chrome: Chrome, model: PackageModel, readme: SafeHtml | null): string {
  const { root } = chrome
  const { summary } = model
  const links = (['homepage', 'repository', 'bugs'] as const)
    .map((key) => [key, summary.links[key]] as const)
    .filter((entry): entry is readonly [typeof entry[0], string] => entry[1] !== undefined)
  const content = html`<article class="package-page">
<h1>${summary.name} <span class="badge ${summary.origin}">${summary.origin}</span></h1>
${summary.description ? html`<p class="description">${summary.description}</p>` : ''}
${model.deprecated ? html`<p class="deprecation" role="note"><strong>Deprecated:</strong> ${model.deprecated}</p>` : ''}
<section class="install"><h2>Install</h2><pre><code>npm install ${summary.name}</code></pre></section>
<div class="columns">
<section class="readme" aria-label="README">${readme ?? html`<p class="empty">This package has no README.</p>`}</section>
<aside>
<section class="latest"><h2>Latest</h2><ul class="plain">
<li>Version <span class="version">${summary.version}</span>${summary.date ? html`, ${summary.date.slice(0, 10)}` : ''}</li>
${model.license ? html`<li>License: ${model.license}</li>` : ''}
${summary.author ? html`<li>Author: ${summary.author.name}</li>` : ''}
${summary.maintainers.length > 0 ? html`<li>Maintainers: ${summary.maintainers.map((m) => m.name).join(', ')}</li>` : ''}
${summary.keywords.length > 0 ? html`<li>Keywords: ${summary.keywords.join(', ')}</li>` : ''}
${links.map(([key, url]) => html`<li><a href="${url}" rel="nofollow noopener noreferrer">${key}</a></li>`)}
</ul></section>
<section class="dist-tags"><h2>Dist-tags</h2><table><tbody>
${model.distTags.map(([tag, version]) => html`<tr><th scope="row">${tag}</th><td class="version">${version}</td></tr>`)}
</tbody></table></section>
${model.dependencies.map(
  (group) => html`<section class="${group.kind}"><h2>${label(group.kind)} (${group.entries.length})</h2><ul class="deps">
${group.entries.map(([name, range]) => html`<li><a href="${packagePage(root, name)}">${name}</a> <span class="version">${range}</span></li>`)}
</ul></section>`,
)}
<section class="versions"><h2>Versions (${model.versions.length})</h2>
${versionTable(root, summary.name, model.versions.slice(0, OPEN_VERSIONS))}
${
  model.versions.length > OPEN_VERSIONS
    ? html`<details><summary>${model.versions.length - OPEN_VERSIONS} older versions</summary>${versionTable(root, summary.name, model.versions.slice(OPEN_VERSIONS, LISTED_VERSIONS))}${
        model.versions.length > LISTED_VERSIONS
          ? html`<p class="more">${model.versions.length - LISTED_VERSIONS} more, not listed here: <code>npm view ${summary.name} versions</code></p>`
          : ''
      }</details>`
    : ''
}
</section>
</aside>
</div>
</article>`
  return layout(chrome, summary.name, content)
}

function versionTable(root: string, name: string, rows: VersionRow[]): SafeHtml {
  return html`<table><thead><tr><th>Version</th><th>Published</th><th>Tarball</th></tr></thead><tbody>
${rows.map(
  (row) => html`<tr class="version-row${row.deprecated ? ' deprecated' : ''}"><td class="version">${row.version}${
    row.deprecated ? html` <span class="badge deprecated" title="${row.deprecated}">deprecated</span>` : ''
  }</td><td>${row.date ? row.date.slice(0, 10) : '-'}</td><td><a href="${tarballLink(root, name, row.file)}" download>.tgz</a></td></tr>`,
)}
</tbody></table>`
}

function label(kind: 'dependencies' | 'peerDependencies' | 'optionalDependencies'): string {
  return kind === 'dependencies' ? 'Dependencies' : kind === 'peerDependencies' ? 'Peer dependencies' : 'Optional dependencies'
}
