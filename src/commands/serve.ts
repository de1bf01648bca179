import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { assertNoSelfUplink, parseListen } from '../core/config/index.js'
import { preferSmallHeap } from '../core/heap.js'
import { startServer } from '../core/server/index.js'
import { serverLogger } from '../core/log.js'
import { redactLocation } from '../core/store/index.js'

export default class Serve extends BaseCommand {
  static override summary = 'Run the registry server.'
  static override description = `Serves private packages and a cache of the uplink registries on one URL. \
On first start, with no config file, it writes a commented default config (filesystem storage next to it, \
the uplink set to the registry npm currently uses) and runs with it.

Point a client at it with: npm set registry http://localhost:4873/`

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --listen 0.0.0.0:4873',
    'SINOPIA_CONFIG=./config.yaml <%= config.bin %> serve',
    '<%= config.bin %> serve --storage postgres://sinopia@db.internal/registry',
  ]

  static override flags = {
    listen: Flags.string({ summary: 'Address to listen on, overriding `listen` in the config.', helpValue: 'HOST:PORT' }),
    storage: Flags.string({
      summary: 'Storage folder or postgres:// URL, overriding `storage` in the config and $SINOPIA_STORAGE.',
      description: 'Several servers given one postgres:// URL share one store, behind a load balancer.',
      helpValue: 'DIR|URL',
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve)
    const config = await this.loadConfig(flags.config, true, flags.storage)
    const listen = flags.listen ? parseListen(flags.listen) : config.listen
    assertNoSelfUplink(config, listen)
    const log = serverLogger({ level: config.logLevel, format: config.logFormat, ...(config.logFile ? { file: config.logFile } : {}) })
    preferSmallHeap()
    const server = await startServer(config, listen, log, { watchConfig: true })
    this.log(`sinopia-cli listening on ${server.url} (config ${config.file}, storage ${redactLocation(config.storage)})`)

    await new Promise<void>((resolve) => {
      let stopping = false
      const stop = (signal: string) => {
        // A second signal means "now": in-flight downloads are discarded (never half-stored).
        if (stopping) process.exit(130)
        stopping = true
        log.log('info', `${signal}: finishing requests in flight, then stopping`)
        void server.close().then(() => {
          log.flush()
          resolve()
        })
      }
      process.on('SIGINT', () => stop('SIGINT'))
      process.on('SIGTERM', () => stop('SIGTERM'))
      // The daemon convention (nginx, sshd): re-read the config. The file is also watched, so this is for scripts that want it now.
      process.on('SIGHUP', () => {
        log.log('info', 'SIGHUP: re-reading the config file')
        void server.reload()
      })
    })
  }
}
