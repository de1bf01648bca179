import { StringDecoder } from 'node:string_decoder'
import { SinopiaError } from '../errors.js'
import { withText, type PackageSummary } from './summary.js'

/**
 * The search index's snapshot (Packages.writeSnapshot): newline-delimited JSON, a header
 * `{"format": 1, "cursor": <change feed cursor>}` and one summary a line without its search
 * text, which withText derives again. The summaries reflect at least every change before the
 * cursor, so applying the feed since the cursor brings them up to date.
 */
const FORMAT = 1

export function* snapshotLines(cursor: string, summaries: Iterable<PackageSummary>): Iterable<string> {
  yield `${JSON.stringify({ format: FORMAT, cursor })}\n`
  for (const summary of summaries) {
    const { text: _text, ...kept } = summary
    yield `${JSON.stringify(kept)}\n`
  }
}

/**
 * Reads a snapshot as it streams in, handing each summary to `put`; returns the cursor. A
 * snapshot that is not whole or not of this format is ECORRUPT: the caller builds from the store.
 */
export async function readSnapshotLines(chunks: AsyncIterable<Buffer>, put: (summary: PackageSummary) => void): Promise<string> {
  let cursor: string | null = null
  let rest = ''
  // A character's bytes may be split between two chunks.
  const decoder = new StringDecoder('utf8')
  const line = (text: string) => {
    if (cursor === null) {
      const header = JSON.parse(text) as { format?: unknown; cursor?: unknown }
      if (header.format !== FORMAT || typeof header.cursor !== 'string') throw corrupt('an unknown header')
      cursor = header.cursor
      return
    }
    put(withText(checked(JSON.parse(text))))
  }
  try {
    for await (const chunk of chunks) {
      const text = rest + decoder.write(chunk)
      const lines = text.split('\n')
      rest = lines.pop() as string
      for (const each of lines) line(each)
    }
  } catch (error) {
    if (error instanceof SyntaxError) throw corrupt(error.message)
    throw error
  }
  // Every line ends with a newline: anything after the last one is a write cut short.
  if (rest !== '' || cursor === null) throw corrupt('a cut-off end')
  return cursor
}

/** Enough of the shape that search and the pages never meet a missing field. */
function checked(value: unknown): Omit<PackageSummary, 'text'> {
  const s = value as Partial<PackageSummary> | null
  const ok =
    typeof s === 'object' &&
    s !== null &&
    typeof s.name === 'string' &&
    typeof s.version === 'string' &&
    typeof s.description === 'string' &&
    Array.isArray(s.keywords) &&
    Array.isArray(s.maintainers) &&
    Array.isArray(s.starredBy) &&
    (s.origin === 'local' || s.origin === 'cached') &&
    typeof s.links === 'object'
  if (!ok) throw corrupt('a summary of another shape')
  return s as Omit<PackageSummary, 'text'>
}

const corrupt = (what: string) => new SinopiaError('ECORRUPT', `the search snapshot has ${what}`)
