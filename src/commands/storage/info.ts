import { BaseCommand } from '../../cli/base-command.js'
import { preferSmallHeap } from '../../core/heap.js'
import { formatBytes, plural, storageInfo, type StorageInfo } from '../../core/maintenance/index.js'
import { openStore } from '../../core/store/index.js'

export default class StorageInfoCommand extends BaseCommand {
  static override summary = 'Show the size of the storage: blobs, packages, versions, last use, the largest packages.'
  static override examples = ['<%= config.bin %> storage info', '<%= config.bin %> storage info --json']
  static override enableJsonFlag = true

  async run(): Promise<StorageInfo> {
    const { flags } = await this.parse(StorageInfoCommand)
    preferSmallHeap()
    const config = await this.loadConfig(flags.config, false)
    const info = await storageInfo(await openStore(config.storage))
    const rows: Array<[string, string]> = [
      ['storage', info.storage],
      ['total', `${formatBytes(info.totalBytes)} (${formatBytes(info.blobs.bytes)} in ${plural(info.blobs.count, 'blob')}, ${formatBytes(info.metadataBytes)} of metadata)`],
      ['packages', `${info.packages.total} (${info.packages.local} published here, ${info.packages.cached} cached from uplinks)`],
      ['versions', `${info.versions.local} published here, ${info.versions.cached} cached tarballs`],
      ['last use', info.use.oldest ? `oldest ${info.use.oldest}, newest ${info.use.newest}` : '-'],
    ]
    for (const [label, value] of rows) this.log(`${label.padEnd(9)} ${value}`)
    if (info.largest.length > 0) {
      this.log('largest packages:')
      const width = Math.max(...info.largest.map((p) => p.name.length))
      for (const p of info.largest) this.log(`  ${p.name.padEnd(width)}  ${formatBytes(p.bytes).padStart(9)}  ${plural(p.versions, 'version')}`)
    }
    return info
  }
}
