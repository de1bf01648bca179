/**
 * JSON.parse, after a scan of the raw bytes that refuses nesting deeper than `maxDepth`:
 * parsing (and later serializing) a document nested millions deep costs seconds of the
 * event loop and stack depth, while the scan is one cheap pass. The caller words the error.
 */
export function parseJsonWithin(raw: Buffer, maxDepth: number): { ok: true; value: unknown } | { ok: false; tooDeep: boolean } {
  if (nestingDepth(raw, maxDepth) > maxDepth) return { ok: false, tooDeep: true }
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) }
  } catch {
    return { ok: false, tooDeep: false }
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

/**
 * The deepest nesting of `[`/`{` outside strings, stopping as soon as it passes `stopAbove`.
 * UTF-8 continuation bytes never equal these ASCII bytes, so a byte scan is exact for valid
 * JSON; for invalid JSON it only has to be an upper bound that JSON.parse then refuses.
 */
function nestingDepth(raw: Buffer, stopAbove: number): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] as number
    if (inString) {
      if (byte === BACKSLASH) i++
      else if (byte === QUOTE) inString = false
    } else if (byte === QUOTE) inString = true
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > stopAbove) return deepest
      }
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--
  }
  return deepest
}

