import { html, type SafeHtml } from './html.js'

/** What npm writes into `readme` when a package has none. */
const NO_README = 'ERROR: No README data found!'

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

/** What is shown when rendering failed or ran out of time: the text as it is, escaped. */
export function plainReadme(markdown: string): SafeHtml {
  return html`<pre class="readme-plain">${markdown}</pre>`
}
