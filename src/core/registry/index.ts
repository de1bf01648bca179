import type { Config } from '../config/types.js'
import { notFound } from '../errors.js'
import type { Manifest, Store } from '../store/index.js'
import type { UpstreamClient } from '../upstream/client.js'
import { printable } from './names.js'
import { Packuments } from './packuments.js'
import { PackageRules } from './rules.js'
import { Publisher } from './publish.js'
import { Tarballs } from './tarballs.js'
import { ViewBuilder } from './view-builder.js'

export { BASE_TOKEN, instantiate, type PackageView } from './view.js'
export type { CacheStatus, PackumentAnswer } from './packuments.js'
export { etagOf, type TarballAnswer } from './tarballs.js'
export { Download } from './download.js'
export { parseDistTagsPath, parsePackagePath, type PackagePath } from './paths.js'
export { changesPackage, isEmptyPlan, type WritePlan } from './edit-plan.js'
export {
  asPublishBody,
  isPublishBody,
  parseEdit,
  parsePublish,
  parseTagVersion,
  tarballVersion,
  type EditCommand,
  type PublishBody,
  type PublishCommand,
  type PublishLimits,
} from './publish-body.js'
export type { Actor } from './ownership.js'
export { PackageRules, allows } from './rules.js'
export { pickVersion, versionIndex, type VersionIndex } from './pick.js'

/** The registry as the server (and later the other commands) sees it. */
export class Registry {
  readonly rules: PackageRules
  readonly packuments: Packuments
  readonly tarballs: Tarballs
  readonly publisher: Publisher
  /** Whole-document work (parse, merge, serialize), off the event loop for big documents. */
  readonly views = new ViewBuilder()

  constructor(
    readonly config: Config,
    readonly store: Store,
    readonly upstream: UpstreamClient,
  ) {
    this.rules = new PackageRules(config.packages)
    this.packuments = new Packuments(store, upstream, this.rules, Date.now, this.views)
    this.tarballs = new Tarballs(store, upstream, this.packuments)
    this.publisher = new Publisher(store, this.packuments)
  }

  /** One version's manifest, by version, dist-tag or range; its tarball URL holds BASE_TOKEN. */
  async manifest(name: string, spec: string): Promise<{ manifest: Manifest; offline: boolean }> {
    const answer = await this.packuments.get(name)
    const manifest = await this.packuments.manifest(name, spec, answer.view, answer.offline)
    if (!manifest) throw notFound(`version ${printable(spec)} of ${printable(name)} not found`, 'ETARGET')
    return { manifest, offline: answer.offline }
  }
}
