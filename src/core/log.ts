import type { LogLevel } from './config/types.js'

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'http', 'debug', 'trace']

export interface Logger {
  level: LogLevel
  enabled(level: LogLevel): boolean
  log(level: LogLevel, message: string): void
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
