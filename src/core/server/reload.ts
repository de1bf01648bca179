import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { loadConfig } from '../config/load.js'
import type { Config, LogLevel } from '../config/types.js'
import { errnoCode } from '../errors.js'
import { createLogger, type Logger } from '../log.js'

/**
 * Hot reload of the config file in a running server.
 *
 * When: the file's folder is watched (fs.watch, debounced 100 ms, because an editor's save or an
 * atomic rename fires several events), its inode, size and mtime are also checked every 2 s (for
 * filesystems where watching misses changes), and SIGHUP re-reads it even when it looks unchanged.
 *
 * What: the file is read with loadConfig. Invalid (or gone): an error line, the running config stays.
 * Valid: `packages` (access, publish, unpublish, proxy), `max_body_size`, `url_prefix` and the log
 * level apply to the next request, with one info line naming them. `listen`, `storage`, `uplinks`
 * (with the proxy and ca settings) and `auth` keep their running values until a restart, with a
 * warn line naming them. Rules that proxy an uplink added since the start wait for the restart too.
 */

/** Config keys, as written in the file, that apply without a restart. */
export type LiveKey = 'packages' | 'max_body_size' | 'url_prefix' | 'log.level'

export interface ReloadPlan {
  /** What the server runs with from now on. */
  config: Config
  /** Keys that changed and apply now. */
  applied: LiveKey[]
  /** Keys that changed and apply after a restart, each with the reason when it is not obvious. */
  restart: string[]
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** Pure: which parts of `next` a server running with `running` takes now, and which wait for a restart. */
export function planReload(running: Config, next: Config, options: { logLevelLive: boolean }): ReloadPlan {
  const applied: LiveKey[] = []
  const restart: string[] = []
  const config: Config = { ...next, file: running.file, listen: running.listen, storage: running.storage, uplinks: running.uplinks, auth: running.auth }
  if (!same(running.listen, next.listen)) restart.push('listen')
  if (running.storage !== next.storage) restart.push('storage')
  if (!same(running.uplinks, next.uplinks)) restart.push('uplinks')
  if (!same(running.auth, next.auth)) restart.push('auth')
  if (!same(running.packages, next.packages)) {
    const added = next.packages.flatMap((rule) => rule.proxy).filter((uplink) => !Object.hasOwn(running.uplinks, uplink))
    if (added.length > 0) {
      config.packages = running.packages
      restart.push(`packages (they proxy uplink ${[...new Set(added)].join(', ')}, which the server does not have yet)`)
    } else applied.push('packages')
  }
  if (running.maxBodySize !== next.maxBodySize) applied.push('max_body_size')
  if (running.urlPrefix !== next.urlPrefix) applied.push('url_prefix')
  if (running.logLevel !== next.logLevel) {
    if (options.logLevelLive) applied.push('log.level')
    else {
      config.logLevel = running.logLevel
      restart.push('log.level')
    }
  }
  return { config, applied, restart }
}

/** A Logger whose level can change while the server runs (`serve` passes one, so `log.level` reloads live). */
export interface AdjustableLogger extends Logger {
  setLevel(level: LogLevel): void
}

export function adjustableLogger(level: LogLevel, write?: (line: string) => void): AdjustableLogger {
  let inner = createLogger(level, write)
  return {
    get level() {
      return inner.level
    },
    enabled: (l) => inner.enabled(l),
    log: (l, message) => inner.log(l, message),
    setLevel(next) {
      inner = createLogger(next, write)
    },
  }
}

function isAdjustable(log: Logger): log is AdjustableLogger {
  return typeof (log as Partial<AdjustableLogger>).setLevel === 'function'
}

export interface ConfigWatcherOptions {
  file: string
  log: Logger
  /** The config the server runs with now. */
  current(): Config
  /** Makes `config` the running one (rules, limits, prefix); the log level is set here. */
  apply(config: Config): void
  debounceMs?: number
  pollMs?: number
}

/** `<inode>:<size>:<mtime>`, so both an in-place write and an atomic rename count as a change. */
async function signature(file: string): Promise<string> {
  try {
    const s = await stat(file)
    return `${s.ino}:${s.size}:${s.mtimeMs}`
  } catch (error) {
    return `missing:${errnoCode(error) ?? ''}`
  }
}

export class ConfigWatcher {
  private watcher: FSWatcher | null = null
  private poll: NodeJS.Timeout | null = null
  private debounce: NodeJS.Timeout | null = null
  private seen = ''
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly opts: ConfigWatcherOptions) {}

  /** Starts watching; resolves once the current file is noted, so changes from then on are seen. */
  async start(): Promise<void> {
    const { file, log } = this.opts
    this.seen = await signature(file)
    try {
      this.watcher = watch(path.dirname(file), (_event, name) => {
        if (name === null || name === path.basename(file)) this.schedule()
      })
      this.watcher.on('error', (error) => {
        log.log('debug', `config watch stopped (${error.message}); still checking the file every ${this.opts.pollMs ?? 2000} ms`)
        this.watcher?.close()
        this.watcher = null
      })
      this.watcher.unref()
    } catch (error) {
      log.log('debug', `cannot watch ${path.dirname(file)} (${errnoCode(error) ?? String(error)}); checking the config every ${this.opts.pollMs ?? 2000} ms`)
    }
    this.poll = setInterval(() => void this.check(false), this.opts.pollMs ?? 2000)
    this.poll.unref()
  }

  /** Re-reads the file now, changed or not (SIGHUP). */
  reload(): Promise<void> {
    return this.check(true)
  }

  close(): void {
    this.watcher?.close()
    this.watcher = null
    if (this.poll) clearInterval(this.poll)
    if (this.debounce) clearTimeout(this.debounce)
    this.poll = null
    this.debounce = null
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      this.debounce = null
      void this.check(false)
    }, this.opts.debounceMs ?? 100)
    this.debounce.unref()
  }

  /** One reload at a time; a trigger while one runs is checked after it (and usually finds nothing new). */
  private check(force: boolean): Promise<void> {
    this.queue = this.queue.then(() => this.reloadIfChanged(force)).catch((error: unknown) => {
      this.opts.log.log('error', `config reload failed: ${error instanceof Error ? error.message : String(error)}`)
    })
    return this.queue
  }

  private async reloadIfChanged(force: boolean): Promise<void> {
    const { file, log } = this.opts
    const now = await signature(file)
    if (!force && now === this.seen) return
    this.seen = now
    let next: Config
    const warnings: string[] = []
    try {
      next = await loadConfig({ path: file, onWarning: (w) => warnings.push(w.message) })
    } catch (error) {
      const hint = (error as { hint?: unknown }).hint
      const message = error instanceof Error ? error.message : String(error)
      log.log('error', `config not reloaded, the running one stays: ${message}${typeof hint === 'string' ? `. Hint: ${hint}` : ''}`)
      return
    }
    for (const warning of warnings) log.log('warn', warning)
    const plan = planReload(this.opts.current(), next, { logLevelLive: isAdjustable(log) })
    this.opts.apply(plan.config)
    if (plan.applied.length > 0) log.log('info', `config reloaded from ${file}: ${plan.applied.join(', ')} now in effect`)
    else if (plan.restart.length === 0) log.log('info', `config re-read from ${file}: no setting changed`)
    if (plan.restart.length > 0) log.log('warn', `config ${file}: restart the server to apply the change to ${plan.restart.join('; ')}`)
    // Last, so the lines above still show at the level the operator was watching.
    if (plan.applied.includes('log.level') && isAdjustable(log)) log.setLevel(plan.config.logLevel)
  }
}
