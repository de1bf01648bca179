import { buildPackage, type BuiltPackage, type PackageSpec } from './packages.js'

/**
 * A fixed dependency graph of 33 packages for end-to-end installs. Shapes it covers:
 * - two majors where npm must nest one: root wants util-core@^2, alpha and gamma want ^1;
 *   @tools/fmt wants @tools/shared@^1, @tools/cli and @tools/lint want ^2.
 * - a prerelease above the latest (util-core@3.0.0-beta.1), so `latest` is 2.0.0.
 * - a diamond: diamond-top → diamond-left, diamond-right → diamond-base (one copy, 1.1.0).
 * - a bin (`tools-cli` from @tools/cli), an optional dependency (@acme/native → @acme/native-binding,
 *   with 64 KiB of padding), a peer dependency satisfied by the root (@acme/plugin → @acme/host@^2).
 * - a chain four deep (deep-a → deep-b → deep-c → deep-d).
 *
 * Every index.js requires its dependencies and peers and exports what it found, so
 * `require('alpha').dependencies['util-core']` is the version the client actually linked.
 */
export const PROJECT_BIN = 'tools-cli'

type Deps = Record<string, string>
interface Node {
  name: string
  version: string
  deps?: Deps
  optional?: Deps
  peers?: Deps
  bin?: Record<string, string>
  padding?: number
}

const GRAPH: Node[] = [
  { name: 'alpha', version: '1.0.0', deps: { beta: '^1.0.0', 'util-core': '^1.0.0', 'tiny-logger': '^1.0.0' } },
  { name: 'beta', version: '1.0.0', deps: { gamma: '^1.0.0' } },
  { name: 'gamma', version: '1.0.0', deps: { 'color-names': '^1.0.0' } },
  { name: 'gamma', version: '1.1.0', deps: { 'color-names': '^1.0.0', 'util-core': '^1.0.0' } },
  { name: 'delta', version: '1.0.0', deps: { epsilon: '^1.0.0' } },
  { name: 'epsilon', version: '1.0.0' },
  { name: 'epsilon', version: '1.2.0' },
  { name: 'zeta', version: '1.0.0', deps: { eta: '^1.0.0' } },
  { name: 'eta', version: '1.0.0' },
  { name: 'theta', version: '2.0.0', deps: { iota: '^1.0.0' } },
  { name: 'iota', version: '1.0.0' },
  { name: 'kappa', version: '1.0.0', deps: { 'lambda-fn': '^1.0.0' } },
  { name: 'lambda-fn', version: '1.0.0' },
  { name: 'util-core', version: '1.0.0' },
  { name: 'util-core', version: '1.1.0' },
  { name: 'util-core', version: '2.0.0' },
  { name: 'util-core', version: '3.0.0-beta.1' },
  { name: 'diamond-top', version: '1.0.0', deps: { 'diamond-left': '^1.0.0', 'diamond-right': '^1.0.0' } },
  { name: 'diamond-left', version: '1.0.0', deps: { 'diamond-base': '^1.0.0' } },
  { name: 'diamond-right', version: '1.0.0', deps: { 'diamond-base': '^1.1.0' } },
  { name: 'diamond-base', version: '1.0.0' },
  { name: 'diamond-base', version: '1.1.0' },
  { name: 'tiny-logger', version: '1.0.0', deps: { 'color-names': '^1.0.0' } },
  { name: 'color-names', version: '1.0.0' },
  { name: 'deep-a', version: '1.0.0', deps: { 'deep-b': '^1.0.0' } },
  { name: 'deep-b', version: '1.0.0', deps: { 'deep-c': '^1.0.0' } },
  { name: 'deep-c', version: '1.0.0', deps: { 'deep-d': '^1.0.0' } },
  { name: 'deep-d', version: '1.0.0' },
  { name: '@acme/core', version: '1.0.0', deps: { '@acme/utils': '^1.0.0', '@acme/config': '^1.0.0' } },
  { name: '@acme/utils', version: '1.0.0', deps: { 'util-core': '^2.0.0', delta: '^1.0.0' } },
  { name: '@acme/config', version: '1.0.0', deps: { zeta: '^1.0.0' } },
  { name: '@acme/host', version: '1.0.0' },
  { name: '@acme/host', version: '2.0.0' },
  { name: '@acme/plugin', version: '1.0.0', deps: { theta: '^2.0.0' }, peers: { '@acme/host': '^2.0.0' } },
  { name: '@acme/native', version: '1.0.0', deps: { kappa: '^1.0.0' }, optional: { '@acme/native-binding': '^1.0.0' } },
  { name: '@acme/native-binding', version: '1.0.0', padding: 64 * 1024 },
  { name: '@acme/types', version: '1.0.0' },
  { name: '@tools/cli', version: '1.0.0', deps: { '@tools/shared': '^2.0.0' }, bin: { [PROJECT_BIN]: 'bin/cli.js' } },
  { name: '@tools/fmt', version: '1.0.0', deps: { '@tools/shared': '^1.0.0' } },
  { name: '@tools/lint', version: '1.0.0', deps: { '@tools/shared': '^2.0.0', '@acme/types': '^1.0.0' } },
  { name: '@tools/shared', version: '1.0.0' },
  { name: '@tools/shared', version: '1.1.0' },
  { name: '@tools/shared', version: '2.0.0' },
]

const ROOT_DEPENDENCIES: Deps = {
  alpha: '^1.0.0',
  'util-core': '^2.0.0',
  'diamond-top': '^1.0.0',
  'deep-a': '^1.0.0',
  '@acme/core': '^1.0.0',
  '@acme/host': '^2.0.0',
  '@acme/plugin': '^1.0.0',
  '@acme/native': '^1.0.0',
  '@tools/cli': '^1.0.0',
  '@tools/fmt': '^1.0.0',
  '@tools/lint': '^1.0.0',
}

function indexJs(node: Node): string {
  const required = Object.keys({ ...node.deps, ...node.peers })
  const optional = Object.keys(node.optional ?? {})
  const lines = [
    `const dependencies = {}`,
    ...required.map((dep) => `dependencies[${JSON.stringify(dep)}] = require(${JSON.stringify(`${dep}/package.json`)}).version`),
    ...optional.map((dep) => `try { dependencies[${JSON.stringify(dep)}] = require(${JSON.stringify(`${dep}/package.json`)}).version } catch {}`),
    `module.exports = { name: ${JSON.stringify(node.name)}, version: ${JSON.stringify(node.version)}, dependencies }`,
  ]
  return `${lines.join('\n')}\n`
}

function specOf(node: Node): PackageSpec {
  const files: Record<string, string> = { 'index.js': indexJs(node) }
  for (const target of Object.values(node.bin ?? {})) {
    files[target] = `#!/usr/bin/env node\nconsole.log(${JSON.stringify(`${node.name}@${node.version}`)})\n`
  }
  return {
    name: node.name,
    version: node.version,
    dependencies: node.deps,
    optionalDependencies: node.optional,
    peerDependencies: node.peers,
    bin: node.bin,
    files,
    padding: node.padding,
    // npm also lists optional dependencies under `dependencies` when it packs.
    ...(node.optional ? { dependencies: { ...node.deps, ...node.optional } } : {}),
  }
}

let built: Promise<BuiltPackage[]> | undefined

export async function generateProjectPackages(): Promise<{ packages: BuiltPackage[]; rootDependencies: Record<string, string> }> {
  built ??= Promise.all(GRAPH.map((node) => buildPackage(specOf(node))))
  return { packages: [...(await built)], rootDependencies: { ...ROOT_DEPENDENCIES } }
}
