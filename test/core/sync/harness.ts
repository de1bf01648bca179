import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { parseConfig } from '../../../src/core/config/index.js'
import type { Config } from '../../../src/core/config/types.js'
import { openRegistry, type OpenRegistry, type SyncEvent } from '../../../src/core/sync/index.js'
import type { FakeUpstream } from '../../helpers/fake-upstream.js'

/** A config over a temp storage folder whose uplink is the fake upstream. */
export async function tempConfig(upstream: FakeUpstream, uplink: Record<string, unknown> = {}): Promise<{ config: Config; dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-sync-'))
  const yaml = stringify({
    storage: path.join(dir, 'storage'),
    uplinks: { npmjs: { url: upstream.url, ...uplink } },
    packages: { '@*/*': { access: '$all', proxy: 'npmjs' }, '**': { access: '$all', proxy: 'npmjs' } },
  })
  const { config } = parseConfig(yaml, path.join(dir, 'config.yaml'))
  return { config, dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Opens the registry over `config` as lock-sync does; call `close` when done. */
export function open(config: Config): Promise<OpenRegistry> {
  return openRegistry(config)
}

export function recorder(): { events: SyncEvent[]; onEvent: (event: SyncEvent) => void } {
  const events: SyncEvent[] = []
  return { events, onEvent: (event) => void events.push(event) }
}

export const isTarball = (url: string) => url.includes('/-/')
