import { Marked } from 'marked'
import sanitizeHtml from 'sanitize-html'
import { html, trusted, type SafeHtml } from './html.js'

/** What npm writes into `readme` when a package has none. */
const NO_README = 'ERROR: No README data found!'

const marked = new Marked({ gfm: true, async: false })

/**
 * The allow-list the rendered HTML passes through. Everything not named here goes, with
 * the content of script, style and the like: no event handlers, no style attributes, no
 * frames, forms or embeds, links and images only to http(s) (images also data:), no ids or
 * names (a README cannot shadow the page's own elements), every link rel=nofollow.
 */
const POLICY: sanitizeHtml.IOptions = {
  allowedTags: [
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'kbd', 'samp', 'var'],
    ...['ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption'],
    ...['a', 'img', 'strong', 'b', 'em', 'i', 'u', 's', 'del', 'ins', 'sub', 'sup', 'small', 'mark', 'abbr', 'span', 'div'],
    ...['details', 'summary', 'picture', 'input'],
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    p: ['align'],
    div: ['align'],
    h1: ['align'],
    h2: ['align'],
    h3: ['align'],
    ol: ['start'],
    details: ['open'],
    abbr: ['title'],
    code: ['class'],
    input: [{ name: 'type', multiple: false, values: ['checkbox'] }, 'checked', 'disabled'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https', 'data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'nofollow noopener noreferrer' } }),
    input: (tagName, attribs) => ({ tagName, attribs: { ...attribs, type: 'checkbox', disabled: '' } }),
  },
}

/** Whether there is a README to show at all. */
export function hasReadme(markdown: string | undefined | null): markdown is string {
  return typeof markdown === 'string' && markdown.trim() !== '' && markdown.trim() !== NO_README
}

/**
 * The first `maxBytes` (UTF-8) of a README, with a note when cut: rendering cost grows with
 * the text, and nobody reads megabytes of README in a browser.
 */
export function cutReadme(markdown: string, maxBytes: number): string {
  if (Buffer.byteLength(markdown, 'utf8') <= maxBytes) return markdown
  // A character cut in half decodes as U+FFFD: drop it.
  const head = Buffer.from(markdown, 'utf8').subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '')
  return `${head}\n\n*(README cut at ${maxBytes} bytes)*`
}

/**
 * A README (markdown, with whatever HTML it holds) as inert HTML; null when there is none.
 * Synchronous and unbounded in time: the server calls it only in the worker (readme-renderer.ts).
 */
export function renderReadme(markdown: string | undefined | null): SafeHtml | null {
  if (!hasReadme(markdown)) return null
  const rendered = marked.parse(markdown) as string
  return trusted(sanitizeHtml(rendered, POLICY))
}

/** What is shown when rendering failed or ran out of time: the text as it is, escaped. */
export function plainReadme(markdown: string): SafeHtml {
  return html`<pre class="readme-plain">${markdown}</pre>`
}
