import { Args, Flags } from '@oclif/core'
import { DEFAULT_CONCURRENCY, DEFAULT_RETRIES } from '../core/sync/index.js'

/** The flags of the commands that fill the store from the uplink (lock-sync, mirror). */
export function syncFlags(concurrencySummary: string) {
  return {
    concurrency: Flags.integer({ summary: concurrencySummary, default: DEFAULT_CONCURRENCY, min: 1, max: 256 }),
    retries: Flags.integer({ summary: 'Further attempts for a failure that may pass (network, 5xx), with backoff.', default: DEFAULT_RETRIES, min: 0, max: 10 }),
    json: Flags.boolean({ summary: 'Print a machine-readable summary on stdout, and no progress.' }),
  }
}

/** The commands that set a password (user add, user passwd). */
export const passwordFlags = {
  'password-stdin': Flags.boolean({ summary: 'Read the password from the first line of standard input.' }),
}

/** The commands that read a bundle and may insist on its signature (bundle verify, bundle import). */
export const bundleArgs = { file: Args.string({ description: 'The bundle.', required: true }) }
export const signatureFlags = {
  'require-signature': Flags.string({ summary: 'Refuse the bundle unless manifest.json is signed with this public key (PEM).', helpValue: 'PUBKEY' }),
}
