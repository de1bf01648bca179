#!/usr/bin/env node
import { execute, settings } from '@oclif/core'

// This entry runs the built dist/ only. Left on, oclif looks for the TypeScript sources whenever
// NODE_ENV is "test" or "development" (vitest sets it for every server a test spawns): it loads the
// whole TypeScript compiler (~0.3 s of start-up, and a bigger heap that every full GC then walks).
settings.enableAutoTranspile = false

await execute({ dir: import.meta.url })
