/**
 * HTML built only through the `html` tag: every interpolated value is escaped unless it is
 * already `SafeHtml` (the output of `html` itself or of the README sanitizer), so markup
 * cannot come from package data by accident.
 *
 *   html`<a href="${href}">${name}</a>` with name = '<b>' -> <a href="...">&lt;b&gt;</a>
 *
 * Attribute values must be quoted in the templates; URLs from package data go through
 * `httpUrl` (search/summary.ts) before they reach an href.
 */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string)
}

type Value = SafeHtml | string | number | boolean | null | undefined | readonly Value[]

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] as string)
  return new SafeHtml(out)
}

/** Markup the caller vouches for (the sanitizer's output). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup)
}
