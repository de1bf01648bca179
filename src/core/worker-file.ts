import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SinopiaError } from './errors.js'

/**
 * The compiled worker script `workerJs`, beside the module whose `import.meta.url` is `moduleUrl`.
 * Run from the TypeScript sources (vitest), that is the build's copy under dist/, since a worker
 * thread cannot load `.ts` files; a missing build is said plainly rather than as a worker crash,
 * unless `checked` is false (a caller that falls back when its worker does not start).
 */
export function workerFile(moduleUrl: string, workerJs: string, checked = true): string {
  const here = fileURLToPath(moduleUrl)
  if (!here.endsWith('.ts')) return fileURLToPath(new URL(workerJs, moduleUrl))
  const compiled = here.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$2')
  const built = fileURLToPath(new URL(workerJs, pathToFileURL(compiled)))
  if (checked && !existsSync(built)) throw new SinopiaError('EINTERNAL', `a worker thread's script is not built (${built})`, { hint: 'run `npm run build`' })
  return built
}
