/**
 * Verdaccio's duration and size notations. Both throw a plain Error on bad input; the config parser
 * wraps it into ECONFIG with the key and line, so these stay usable for CLI flags too.
 */

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

// Case-sensitive on purpose: `m` is a minute and `M` a month (30 days), as in Verdaccio.
const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: MINUTE,
  h: 60 * MINUTE,
  d: DAY,
  w: 7 * DAY,
  M: 30 * DAY,
  y: 365 * DAY,
}

const DURATION_PART = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)?$/

/**
 * Milliseconds from `500ms`, `30s`, `2m`, `1h`, `1d`, `1w`, `1h 30m` or `Infinity`.
 *
 * A bare number (`timeout: 30` or `'30'`) is seconds, not milliseconds: Verdaccio multiplies a
 * unitless interval by 1000, and an existing config file must keep meaning what it meant there.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isNaN(value) || value < 0) throw new Error(`invalid duration ${value}: must be 0 or more`)
    return value === Infinity ? Infinity : Math.round(value * 1000)
  }
  const text = value.trim()
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity
  const parts = text.split(/\s+/)
  let total = 0
  for (const part of parts) {
    const match = DURATION_PART.exec(part)
    if (!match) throw new Error(`invalid duration "${value}": expected a number with a unit, like 30s, 2m or 1h 30m`)
    const unit = match[2]
    // `1h 30` could mean 30 seconds or 30 minutes: refuse rather than guess.
    if (unit === undefined && parts.length > 1) throw new Error(`invalid duration "${value}": every part needs a unit`)
    total += Number(match[1]) * (unit === undefined ? 1000 : (DURATION_UNITS[unit] ?? 1))
  }
  return Math.round(total)
}

// 1024-based and case-insensitive, like the `bytes` package that Verdaccio's body parser reads `max_body_size` with.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
  pb: 1024 ** 5,
}

/** Bytes from `100b`, `512kb`, `10mb`, `20GB`, or a bare number of bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid size ${value}: must be a number of bytes, 0 or more`)
    return Math.floor(value)
  }
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?b)?$/i.exec(value.trim())
  if (!match) throw new Error(`invalid size "${value}": expected a number with a unit, like 512kb, 10mb or 1gb`)
  const unit = (match[2] ?? 'b').toLowerCase()
  return Math.floor(Number(match[1]) * (SIZE_UNITS[unit] ?? 1))
}
