import { createInterface } from 'node:readline/promises'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { preferSmallHeap } from '../core/heap.js'
import { parseDuration, parseSize } from '../core/config/units.js'
import { SinopiaError } from '../core/errors.js'
import { applyPrune, formatAge, formatBytes, planPrune, plural, readKeepList, type PruneItem, type PrunePlan, type PruneResult, type StalePackument } from '../core/maintenance/index.js'
import { openStore } from '../core/store/index.js'

interface PruneOutput {
  dryRun: boolean
  removed: Array<{ name: string; version: string; size: number; lastUse: string; reason: string }>
  orphans: { count: number; bytes: number }
  packuments: Array<{ name: string; bytes: number }>
  freedBytes: number
  kept: PrunePlan['kept']
  cachedBytes: { before: number; after: number }
  fits: boolean | null
  skipped: PruneResult['skipped']
  warnings: string[]
}

export default class Prune extends BaseCommand {
  static override summary = 'Remove cached uplink tarballs that are old or least recently used.'
  static override description = `Only data cached from an uplink goes: a version published here is never removed, \
nor anything a --keep-lockfile needs. Tarballs stored in the last two minutes stay too (a publish may be about to \
claim them; --grace changes that time). Blobs that nothing refers to any more are collected as well. With --older-than, the cached packuments \
of packages left without any tarball go too, when nothing was published here under that name, no lockfile lists it and \
the uplink was not asked for it within that time. Safe while \`serve\` runs: a download in \
progress is not cut off, and a removed tarball is fetched again from the uplink when someone asks for it; while the \
uplink is down, removed versions are no longer advertised.`

  static override examples = [
    '<%= config.bin %> prune --older-than 30d --dry-run',
    '<%= config.bin %> prune --max-size 20GB --keep-lockfile ~/src/app/package-lock.json --yes',
    "<%= config.bin %> prune --older-than 90d --max-size 50GB --keep-lockfile 'projects/*/package-lock.json' --json",
  ]

  static override enableJsonFlag = true

  static override flags = {
    'older-than': Flags.string({ summary: 'Remove tarballs not served or fetched for this long (30d, 12h, 2w).', helpValue: 'DURATION' }),
    'max-size': Flags.string({ summary: 'Then remove the least recently used until the cached tarballs fit (20GB, 500mb, 0).', helpValue: 'SIZE' }),
    'keep-lockfile': Flags.string({
      summary: 'Never remove what this lockfile installs (package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml; a file, a folder or a glob, node_modules not searched). Repeatable.',
      helpValue: 'PATH|GLOB',
      multiple: true,
    }),
    grace: Flags.string({
      summary: 'Keep what was stored or fetched this recently whatever the other flags say (default 2m: a publish may be about to claim a blob).',
      helpValue: 'DURATION',
    }),
    'dry-run': Flags.boolean({ summary: 'List what would be removed and the bytes; change nothing.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask before deleting (the question is only asked on a terminal).' }),
  }

  async run(): Promise<PruneOutput> {
    const { flags } = await this.parse(Prune)
    preferSmallHeap()
    const olderThanMs = flags['older-than'] === undefined ? undefined : parseFlag('--older-than', () => parseDuration(flags['older-than'] as string))
    const maxBytes = flags['max-size'] === undefined ? undefined : parseFlag('--max-size', () => parseSize(flags['max-size'] as string))
    const graceMs = flags.grace === undefined ? undefined : parseFlag('--grace', () => parseDuration(flags.grace as string))
    const config = await this.loadConfig(flags.config, false)
    const keep = await readKeepList(flags['keep-lockfile'] ?? [], process.cwd())
    const store = await openStore(config.storage)
    const plan = await planPrune(store, {
      ...(olderThanMs === undefined ? {} : { olderThanMs }),
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(graceMs === undefined ? {} : { graceMs }),
      keep,
    })
    for (const warning of plan.warnings) this.warn(warning)
    const now = Date.now()
    const what = describe(plan.remove.length, plan.orphans.length, plan.packuments.length)

    if (plan.remove.length === 0 && plan.orphans.length === 0 && plan.packuments.length === 0) {
      this.log('nothing to remove')
      this.summary(plan, plan.cachedBytesAfter)
      return output(plan, null, flags['dry-run'])
    }
    if (flags['dry-run']) {
      for (const item of plan.remove) this.log(line(item, now))
      for (const item of plan.packuments) this.log(packumentLine(item, now))
      this.log(`would remove ${what} (${formatBytes(plan.freedBytes)})`)
      this.summary(plan, plan.cachedBytesAfter)
      return output(plan, null, true)
    }
    if (!flags.yes && !this.jsonEnabled() && process.stdin.isTTY && process.stderr.isTTY) {
      for (const item of plan.remove) this.log(line(item, now))
      for (const item of plan.packuments) this.log(packumentLine(item, now))
      if (!(await confirm(`Remove ${what} (${formatBytes(plan.freedBytes)})? [y/N] `))) {
        this.log('nothing removed')
        return output(plan, null, false)
      }
    }
    const result = await applyPrune(store, plan)
    for (const skip of result.skipped) this.log(`kept ${skip.key.replace(/^(tarball|packument):/, '')}: ${skip.why}`)
    this.log(`removed ${describe(result.removed.length, result.orphansRemoved.length, result.packumentsRemoved.length)} (${formatBytes(result.freedBytes)})`)
    this.summary(plan, result.cachedBytesAfter)
    return output(plan, result, false)
  }

  private summary(plan: PrunePlan, after: number): void {
    const kept = Object.entries(plan.kept).filter(([, n]) => n > 0)
    if (kept.length > 0) this.log(`kept: ${kept.map(([why, n]) => `${n} ${why === 'local' ? 'published here' : why === 'lockfile' ? 'in a lockfile' : 'stored in the last minutes'}`).join(', ')}`)
    this.log(`cached tarballs: ${formatBytes(plan.cachedBytesBefore)} before, ${formatBytes(after)} after`)
    if (plan.fits === false) this.warn('the cached tarballs still exceed --max-size: what is left is kept by a lockfile or was stored in the last minutes')
  }
}

function describe(tarballs: number, orphans: number, packuments: number): string {
  const parts = [plural(tarballs, 'tarball'), ...(orphans ? [plural(orphans, 'unreferenced blob')] : []), ...(packuments ? [plural(packuments, 'cached packument')] : [])]
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] as string)
}

function packumentLine(item: StalePackument, now: number): string {
  return `${item.name} (packument)  ${formatBytes(item.bytes)}  ${item.fetchedAt ? `fetched ${formatAge(item.fetchedAt, now)} ago` : 'fetch time unknown'}  (no tarball left)`
}

function line(item: PruneItem, now: number): string {
  return `${item.name}@${item.version}  ${formatBytes(item.size)}  last used ${formatAge(item.lastUse, now)} ago  (${item.reason})`
}

function parseFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw new SinopiaError('EUSAGE', `${flag}: ${(error as Error).message}`)
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim())
  } finally {
    rl.close()
  }
}

function output(plan: PrunePlan, result: PruneResult | null, dryRun: boolean): PruneOutput {
  const removed = result ? result.removed : dryRun ? plan.remove : []
  const orphans = result ? result.orphansRemoved : dryRun ? plan.orphans : []
  const packuments = result ? result.packumentsRemoved : dryRun ? plan.packuments : []
  return {
    dryRun,
    removed: removed.map((i) => ({ name: i.name, version: i.version, size: i.size, lastUse: new Date(i.lastUse).toISOString(), reason: i.reason })),
    orphans: { count: orphans.length, bytes: orphans.reduce((sum, o) => sum + o.size, 0) },
    packuments: packuments.map((p) => ({ name: p.name, bytes: p.bytes })),
    freedBytes: result ? result.freedBytes : dryRun ? plan.freedBytes : 0,
    kept: plan.kept,
    cachedBytes: { before: plan.cachedBytesBefore, after: result ? result.cachedBytesAfter : dryRun ? plan.cachedBytesAfter : plan.cachedBytesBefore },
    fits: plan.fits,
    skipped: result?.skipped ?? [],
    warnings: plan.warnings,
  }
}
