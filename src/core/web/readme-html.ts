import { Marked } from 'marked'
import sanitizeHtml from 'sanitize-html'
import { trusted, type SafeHtml } from './html.js'
import { hasReadme } from './readme.js'

// Apart from readme.ts so that only the README thread loads marked and sanitize-html: together
// they cost `serve` a few hundred ms of start-up on this machine, for no page served yet.

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

/**
 * A README (markdown, with whatever HTML it holds) as inert HTML; null when there is none.
 * Synchronous and unbounded in time: the server calls it only in the worker (readme-renderer.ts).
 */
export function renderReadme(markdown: string | undefined | null): SafeHtml | null {
  if (!hasReadme(markdown)) return null
  const rendered = marked.parse(markdown) as string
  return trusted(sanitizeHtml(rendered, POLICY))
}
