import { Command, Flags, ux } from '@oclif/core'
import { configPath, loadConfig, type Config } from '../core/config/index.js'
import { SinopiaError } from '../core/errors.js'

/**
 * What every command shares: the `--config` flag (env SINOPIA_CONFIG) and one way of
 * reporting errors, a single line with its hint and a non-zero exit, never a stack trace
 * for an error the core anticipated.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      summary: 'Config file to use.',
      description: 'Defaults to $SINOPIA_CONFIG, else config.yaml in $XDG_CONFIG_HOME/sinopia-cli/ (or ~/.config/sinopia-cli/).',
      helpValue: 'PATH',
    }),
  }

  /** `storage`: a command's --storage flag (see LoadOptions.storage). */
  protected async loadConfig(flag: string | undefined, createIfMissing: boolean, storage?: string): Promise<Config> {
    const path = configPath({ flag, env: process.env })
    return loadConfig({
      path,
      createIfMissing,
      ...(storage === undefined ? {} : { storage }),
      // A warning's message already names file, line and key.
      onWarning: (w) => this.warn(w.message),
    })
  }

  /**
   * `--json` output as JSON.stringify writes it, unless a color theme is set: oclif's colorizer
   * tokenizes the whole text to color nothing (2.5 s of CPU for prune's report of 100k removals).
   */
  override logJson(json: unknown): void {
    if (this.config.theme?.json) return super.logJson(json)
    ux.stdout(JSON.stringify(json, null, 2))
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    if (error instanceof SinopiaError) {
      this.logToStderr(`Error: ${error.message}${error.hint ? `\nHint: ${error.hint}` : ''}`)
      this.exit(1)
    }
    return super.catch(error)
  }
}
