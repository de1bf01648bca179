#!/usr/bin/env node
// Runs the TypeScript sources without a build step (needs a TS loader such as tsx on the PATH).
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
