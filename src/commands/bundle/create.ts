import path from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { syncFlags } from '../../cli/flags.js'
import { createProgress, formatBytes, interruptible } from '../../cli/progress.js'
import { collectPackages, includedIds, loadPrivateKey, readManifest, writeBundle, type BundleInput } from '../../core/bundle/index.js'
import { SinopiaError } from '../../core/errors.js'
import { findLockfiles, openRegistry, readLockfiles } from '../../core/sync/index.js'

export default class BundleCreate extends BaseCommand {
  static override summary = 'Write a verified bundle of packages (packuments and tarballs) to carry to a registry with no uplink.'
  static override description = `Takes the packages from lockfiles (every format lock-sync reads), from specs (with --deps and \
--peers, as mirror resolves them) or --all of the store. Tarballs come from the store when it holds them, else through the \
uplink client, verified as lock-sync verifies them. The bundle is a plain tar: manifest.json (format, packuments trimmed to \
the included versions), optional manifest.json.sig, and the tarballs named by their sha512. The same inputs give the same \
bytes. --since leaves out what an older bundle holds.

Exit status: 0 when the bundle holds everything asked for; 1 (and no bundle written) when anything could not be included.`

  static override examples = [
    '<%= config.bin %> bundle create --from package-lock.json --out deps.tar',
    "<%= config.bin %> bundle create --spec 'react@^19' --deps --since deps-2026-11.tar --out delta.tar",
    '<%= config.bin %> bundle create --all --out everything.tar --sign bundle.key',
  ]

  static override flags = {
    from: Flags.string({ summary: 'Lockfile, folder or glob to take packages from (repeatable).', multiple: true, helpValue: 'LOCKFILE' }),
    spec: Flags.string({ summary: 'Package spec to take (repeatable): name, name@range, name@tag.', multiple: true, helpValue: 'SPEC' }),
    deps: Flags.boolean({ summary: 'With --spec: the dependency closure an install pulls (optional dependencies included).' }),
    peers: Flags.boolean({ summary: 'With --deps: peer dependencies too.', dependsOn: ['deps'] }),
    all: Flags.boolean({ summary: 'Every package version whose tarball the store holds.', exclusive: ['from', 'spec'] }),
    out: Flags.string({ summary: 'The bundle file to write.', required: true, helpValue: 'FILE' }),
    since: Flags.string({ summary: 'Leave out the name@version pairs this older bundle holds.', helpValue: 'OLDER.tar' }),
    sign: Flags.string({ summary: 'Sign manifest.json with this PEM private key (Ed25519 or ECDSA).', helpValue: 'KEYFILE' }),
    created: Flags.string({ summary: 'Creation time to record (ISO 8601); default: the newest publish time among the included versions.', helpValue: 'TIME' }),
    ...syncFlags('Packages fetched at once.'),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(BundleCreate)
    const input = await inputOf(flags)
    const created = flags.created === undefined ? undefined : new Date(flags.created)
    if (created && Number.isNaN(created.getTime())) throw new SinopiaError('EUSAGE', `--created ${flags.created} is not a time`, { hint: 'write it as 2026-12-01T00:00:00Z' })
    const sign = flags.sign ? await loadPrivateKey(flags.sign) : undefined
    const exclude = flags.since ? includedIds(await readManifest(flags.since)) : undefined
    const config = await this.loadConfig(flags.config, false)
    const progress = await createProgress({ verb: 'bundle', json: flags.json })
    const interrupt = interruptible(progress)
    const { registry, close } = await openRegistry(config)
    let exitCode = 0
    try {
      const collected = await collectPackages(registry, input, { concurrency: flags.concurrency, retries: flags.retries, signal: interrupt.signal, onEvent: progress.onEvent })
      if (collected.sync && collected.sync.interrupted > 0) {
        progress.stop()
        this.logToStderr(`bundle: interrupted; ${collected.sync.interrupted} packages not fetched, no bundle written`)
        this.exit(130)
      }
      const failedBefore = collected.failed
      const result =
        failedBefore.length > 0
          ? null
          : await writeBundle(registry, collected.packages, {
              out: flags.out,
              tool: { name: this.config.name, version: this.config.version },
              ...(created ? { created } : {}),
              ...(exclude ? { exclude } : {}),
              ...(sign ? { sign } : {}),
            })
      progress.stop()
      const failed = [...failedBefore, ...(result?.failed ?? [])]
      const summary = {
        command: 'bundle create',
        out: path.resolve(flags.out),
        written: failed.length === 0,
        ...(result ? { created: result.created, packages: result.packages, versions: result.versions, blobs: result.blobs, attestations: result.attestations, bytes: result.bytes, sha256: result.sha256, excluded: result.excluded } : {}),
        skipped: collected.sync?.skipped ?? [],
        failed,
      }
      if (flags.json) this.log(JSON.stringify(summary, null, 2))
      else if (result && failed.length === 0) {
        this.log(
          `bundle: wrote ${flags.out}: ${result.packages} packages, ${result.versions} versions, ${result.blobs} tarballs` +
            `${result.attestations > 0 ? `, ${result.attestations} attestations` : ''}, ${formatBytes(result.bytes)}` +
            `${result.excluded > 0 ? ` (${result.excluded} left out: in ${flags.since})` : ''}\nsha256 ${result.sha256}`,
        )
      } else {
        this.log([`bundle: not written: ${failed.length} could not be included:`, ...failed.map((f) => `  ${f.package}: ${f.code}: ${f.message}`)].join('\n'))
      }
      if (failed.length > 0) exitCode = 1
    } finally {
      progress.stop()
      interrupt.dispose()
      await close()
    }
    if (exitCode !== 0) this.exit(exitCode)
  }
}

async function inputOf(flags: { from?: string[]; spec?: string[]; deps: boolean; peers: boolean; all: boolean }): Promise<BundleInput> {
  const modes = [flags.from?.length, flags.spec?.length, flags.all].filter(Boolean).length
  if (modes !== 1) throw new SinopiaError('EUSAGE', 'say what to bundle: --from LOCKFILE..., --spec SPEC... or --all (one of them)', { hint: 'bundle create --from package-lock.json --out deps.tar' })
  if (flags.all) return { kind: 'all' }
  if (flags.spec?.length) return { kind: 'specs', specs: flags.spec, options: { deps: flags.deps, peers: flags.peers } }
  const cwd = process.cwd()
  const locked = await readLockfiles(await findLockfiles(flags.from ?? [], cwd))
  return { kind: 'lockfiles', packages: locked.packages, skipped: locked.skipped.map((s) => ({ ...s, lockfile: path.relative(cwd, s.lockfile) })) }
}
