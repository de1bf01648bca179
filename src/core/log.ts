import pino from 'pino'
import type { LogFormat, LogLevel } from './config/types.js'

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'http', 'debug', 'trace']

/**
 * What a request line carries besides its message, under these names in JSON lines (a stable
 * set for log shippers). Nothing here is ever a secret: paths are redacted before they get here.
 */
export interface LogFields {
  method?: string
  path?: string
  status?: number
  ms?: number
  bytes?: number
  cache?: string
  /** The request id, also sent back as `x-request-id`. */
  id?: string
  user?: string
  aborted?: boolean
}

export interface Logger {
  level: LogLevel
  enabled(level: LogLevel): boolean
  log(level: LogLevel, message: string, fields?: LogFields): void
}

/**
 * Plain text lines, one per event: `<ISO time> <level> <message>`. The server passes only
 * what it has checked to be free of secrets (never an Authorization header, never a body).
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const max = LEVELS.indexOf(level)
  return {
    level,
    enabled: (l) => LEVELS.indexOf(l) <= max,
    log(l, message) {
      if (LEVELS.indexOf(l) <= max) write(`${new Date().toISOString()} ${l.padEnd(5)} ${message}\n`)
    },
  }
}

export const silentLogger: Logger = { level: 'fatal', enabled: () => false, log: () => undefined }

export interface LogOptions {
  level: LogLevel
  format: LogFormat
  /** Absolute path to append to; standard output when not set. */
  file?: string
}

export interface ServerLogger extends Logger {
  /** The level changes live (config reload). */
  setLevel(level: LogLevel): void
  /** Writes out what is buffered (at exit). */
  flush(): void
}

/**
 * The server's log: text lines (`pretty`) or JSON lines (`json`, one object per line with
 * time, level, msg and the request fields), written by pino's buffered destination to
 * standard output or appended to a file.
 */
export function serverLogger(options: LogOptions): ServerLogger {
  const destination = pino.destination({ dest: options.file ?? 1, sync: false, mkdir: true, append: true })
  let level = options.level
  const text = (current: LogLevel) => createLogger(current, (line) => destination.write(line))
  let pretty = text(level)
  const json = pino(
    {
      level,
      customLevels: { http: 25 },
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
  return {
    get level() {
      return level
    },
    enabled: (l) => LEVELS.indexOf(l) <= LEVELS.indexOf(level),
    log(l, message, fields) {
      if (LEVELS.indexOf(l) > LEVELS.indexOf(level)) return
      if (options.format === 'json') json[l](fields ?? {}, message)
      else pretty.log(l, message)
    },
    setLevel(next) {
      level = next
      json.level = next
      pretty = text(next)
    },
    flush() {
      try {
        destination.flushSync()
      } catch {
        // Nothing buffered, or the destination is not open yet.
      }
    },
  }
}
