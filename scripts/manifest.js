#!/usr/bin/env node
// Writes oclif.manifest.json after a build: with it, the CLI loads only the command it runs
// instead of importing every command module (serve's whole server included) at each start.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config } from '@oclif/core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const config = await Config.load(root)
const plugin = config.plugins.get(config.pjson.name)
if (!plugin) throw new Error(`no plugin named ${config.pjson.name}`)
const manifest = { ...plugin.manifest, version: config.version }
await writeFile(path.join(root, 'oclif.manifest.json'), JSON.stringify(manifest, null, 1) + '\n')
console.log(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`)
