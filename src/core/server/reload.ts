import { watch, type FSWatcher } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { loadConfig } from '../config/load.js'
import { topLevelKeys } from '../config/source.js'
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
 * What: the file is read until two reads `settleMs` apart agree (a write in progress is not read
 * half-way; still changing after SETTLE_READS reads: read again at the next check), then with
 * loadConfig. Invalid (or gone), empty, or without an `uplinks` or `packages` key the running
 * config has (see refuseReload): an error line, the running config stays. Valid: `packages` (access, publish, unpublish, proxy), `max_body_size`, `url_prefix` and the log
 * level apply to the next request, with one info line naming them. `listen`, `storage`, `uplinks`
 * (with the proxy and ca settings) and `auth` keep their running values until a restart, with a
 * warn line naming them. Rules that proxy an uplink added since the start wait for the restart too.
 */

/** Config keys, as written in the file, that apply without a restart. */
export type LiveKey = 'packages' | 'max_body_size' | 'url_prefix' | 'log.level' | 'metrics' | 'search' | 'https' | 'trust_proxy' | 'limits'

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
  const config: Config = {
    ...next,
    file: running.file,
    listen: running.listen,
    storage: running.storage,
    uplinks: running.uplinks,
    auth: running.auth,
    keepAliveTimeout: running.keepAliveTimeout,
    logFormat: running.logFormat,
  }
  // The log's destination and format stay until a restart.
  if (running.logFile === undefined) delete config.logFile
  else config.logFile = running.logFile
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
  if (running.keepAliveTimeout !== next.keepAliveTimeout) restart.push('server.keepAliveTimeout')
  if (running.logFormat !== next.logFormat || running.logFile !== next.logFile) restart.push('log (type, path, format)')
  // The https files themselves are read again on SIGHUP; new paths are taken with them.
  if (!same(running.https, next.https)) applied.push('https')
  if (!same(running.metrics, next.metrics)) applied.push('metrics')
  if (!same(running.trustProxy, next.trustProxy)) applied.push('trust_proxy')
  // The README and audit budgets are read per request; the login and session bounds size maps made at start.
  const atStart = ['loginFailures', 'loginWindow', 'loginTracked', 'webSessions', 'pendingLogins', 'pendingLoginsPerAddress'] as const
  const changed = atStart.filter((key) => running.limits[key] !== next.limits[key])
  if (changed.length > 0) {
    config.limits = { ...next.limits, ...Object.fromEntries(changed.map((key) => [key, running.limits[key]])) }
    restart.push('limits (login and session bounds)')
  }
  if (!same(config.limits, running.limits)) applied.push('limits')
  if (!same(running.search, next.search)) applied.push('search')
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

/**
 * Pure: why a file that parsed as `next`, setting the top-level `keys`, is not applied over
 * `running`, or null to apply it. A truncated file or one caught half-written parses fine, as
 * defaults: every rule would be lost (an empty file proxies nothing, so every cached package
 * answers 404). So an empty document is refused, and so is a file that lost the `packages` key
 * (when its default rules differ from the running ones) or the `uplinks` key (when the server
 * has uplinks). Dropping them on purpose takes an explicit value: `uplinks: {}` for a registry
 * without uplinks (applied at the next restart), `packages: {}` for one with no rules. A
 * restart reads the file as it is.
 */
export function refuseReload(running: Config, next: Config, keys: ReadonlySet<string>): { reason: string; hint: string } | null {
  const file = running.file
  if (keys.size === 0) {
    return { reason: `${file} is empty`, hint: 'if a write was in progress the finished file is read next; to start over, write a whole config file' }
  }
  if (!keys.has('uplinks') && Object.keys(running.uplinks).length > 0) {
    return {
      reason: `${file} has no uplinks: key any more, the server has ${Object.keys(running.uplinks).join(', ')}`,
      hint: 'write the uplinks back, or `uplinks: {}` to run without any (after a restart)',
    }
  }
  if (!keys.has('packages') && !same(running.packages, next.packages)) {
    return {
      reason: `${file} has no packages: key any more, which would replace the access rules with the defaults`,
      hint: 'write the package rules back (`packages: {}` for none)',
    }
  }
  return null
}

/** One read of a file: its text (null when missing) and its signature just before. */
export interface FileRead {
  text: string | null
  signature: string
}

/** Reads of a changing file before the reload gives up until the next check (~1 s at 50 ms apart). */
export const SETTLE_READS = 20

/**
 * Reads until two reads `settleMs` apart give the same text, and returns the last, or null
 * when the file was still changing after `maxReads` reads. `read` and `wait` are given, so
 * tests run it without a clock.
 */
export async function settledRead(read: () => Promise<FileRead>, wait: () => Promise<void>, maxReads = SETTLE_READS): Promise<FileRead | null> {
  let previous = await read()
  for (let reads = 1; reads < maxReads; reads++) {
    await wait()
    const current = await read()
    if (current.text === previous.text) return current
    previous = current
  }
  return null
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
  /** Between the reads that must agree before a changed file is used (default 50 ms). */
  settleMs?: number
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
    if (!force && (await signature(file)) === this.seen) return
    const settleMs = this.opts.settleMs ?? 50
    const read = await settledRead(
      async () => ({ signature: await signature(file), text: await readFile(file, 'utf8').catch(() => null) }),
      () => delay(settleMs),
    )
    if (read === null) {
      // `seen` stays as it was, so the next check (a watch event or the poll) reads it again.
      log.log('debug', `config ${file} still changing after ${SETTLE_READS} reads ${settleMs} ms apart; reading it again at the next check`)
      return
    }
    // The signature taken before the read that was used: a change after it is seen as one.
    this.seen = read.signature
    const refuse = (message: string, hint?: unknown) =>
      log.log('error', `config not reloaded, the running one stays: ${message}${typeof hint === 'string' ? `. Hint: ${hint}` : ''}`)
    let next: Config
    const warnings: string[] = []
    try {
      // The running server's --storage stays what it was started with ($SINOPIA_STORAGE is read again, and is the same).
      const storage = this.opts.current().storageOverride
      next = await loadConfig({
        path: file,
        ...(read.text === null ? {} : { text: read.text }),
        ...(storage === undefined ? {} : { storage }),
        onWarning: (w) => warnings.push(w.message),
      })
    } catch (error) {
      refuse(error instanceof Error ? error.message : String(error), (error as { hint?: unknown }).hint)
      return
    }
    const running = this.opts.current()
    const refused = refuseReload(running, next, topLevelKeys(read.text ?? '', file))
    if (refused) {
      refuse(refused.reason, refused.hint)
      return
    }
    for (const warning of warnings) log.log('warn', warning)
    const plan = planReload(running, next, { logLevelLive: isAdjustable(log) })
    this.opts.apply(plan.config)
    if (plan.applied.length > 0) log.log('info', `config reloaded from ${file}: ${plan.applied.join(', ')} now in effect`)
    else if (plan.restart.length === 0) log.log('info', `config re-read from ${file}: no setting changed`)
    if (plan.restart.length > 0) log.log('warn', `config ${file}: restart the server to apply the change to ${plan.restart.join('; ')}`)
    // Last, so the lines above still show at the level the operator was watching.
    if (plan.applied.includes('log.level') && isAdjustable(log)) log.setLevel(plan.config.logLevel)
  }
}
