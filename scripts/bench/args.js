import { parseArgs } from 'node:util'

/**
 * The command-line options of a bench script (`spec` as node:util parseArgs takes them, plus
 * --help): a bad option prints the error and `usage` and exits 2, --help prints `usage` and
 * exits 0.
 */
export function parseOptions(spec, usage) {
  let values
  try {
    values = parseArgs({ options: { ...spec, help: { type: 'boolean', short: 'h' } } }).values
  } catch (error) {
    console.error(`${error.message}\n${usage}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(usage)
    process.exit(0)
  }
  return values
}
