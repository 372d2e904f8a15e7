// The layer rule of docs/architecture.md, checked on every relative import under src/:
// commands (and the CLI's top-level files, output, hooks) → {chain, proof, node, plugin} →
// {rpc, vm}; rpc imports only vm; node and plugin, the two hosts, never import each other, chain
// or proof; proof reaches a chain only through src/chain's types. A new edge fails here until
// the rule or the code changes.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, normalize, relative, sep} from 'node:path'
import {describe, it} from 'node:test'

import {ROOT} from './helpers/cli.js'

const SRC = join(ROOT, 'src')

/** The layer of a file under src/: its top folder, or `cli` for files directly in src/. */
function layer(file: string): string {
  const parts = relative(SRC, file).split(sep)
  return parts.length === 1 ? 'cli' : parts[0]!
}

/** Which layers each layer may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  vm: [],
  rpc: ['vm'],
  node: ['rpc', 'vm'],
  plugin: ['rpc', 'vm'],
  chain: ['rpc', 'vm'],
  proof: ['chain', 'vm'],
  output: ['cli', 'chain', 'node', 'plugin', 'proof', 'rpc', 'vm'],
  hooks: ['cli', 'vm'],
  commands: ['cli', 'output', 'chain', 'node', 'plugin', 'proof', 'rpc', 'vm'],
  cli: ['output', 'chain', 'node', 'plugin', 'proof', 'rpc', 'vm'],
}

/** Known exceptions, each to be removed: the JSON of an interrupted stamp is built where the pending record is read. */
const EXCEPTIONS = new Set(['proof/interrupt.ts -> output/json.ts'])

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sources(path)
    else if (entry.name.endsWith('.ts')) yield path
  }
}

/** Every relative import of a file: [target file, type-only]. */
function imports(file: string): Array<[string, boolean]> {
  const text = readFileSync(file, 'utf8')
  const found: Array<[string, boolean]> = []
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
    const target = normalize(join(dirname(file), m[2]!.replace(/\.js$/, '.ts')))
    found.push([target, m[1] !== undefined])
  }

  return found
}

describe('the layer rule', () => {
  it('every import under src/ points down or within its layer', () => {
    const wrong: string[] = []
    let count = 0
    for (const file of sources(SRC)) {
      const from = layer(file)
      for (const [target, typeOnly] of imports(file)) {
        count++
        const to = layer(target)
        if (to === from || ALLOWED[from]?.includes(to)) {
          // proof reaches src/chain only for its types
          if (from === 'proof' && to === 'chain' && !typeOnly)
            wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)} (proof uses chain's types only)`)
          continue
        }

        const edge = `${relative(SRC, file)} -> ${relative(SRC, target)}`
        if (!EXCEPTIONS.has(edge)) wrong.push(`${edge} (${from} may not import ${to})`)
      }
    }

    assert.ok(count > 200, `only ${count} imports found: the scan is broken`)
    assert.deepEqual(wrong, [])
  })

  it('src/vm imports no framework, and no file outside src/vm', () => {
    const wrong: string[] = []
    for (const file of sources(join(SRC, 'vm'))) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/from\s+'([^'.][^']*)'/g)) {
        const name = m[1]!
        if (!/^(node:|@noble\/hashes|@scure\/base|classic-level|level|abstract-level)/.test(name))
          wrong.push(`${relative(SRC, file)} imports ${name}`)
      }

      if (/\bprocess\.(env|exit)\b|\bconsole\./.test(text))
        wrong.push(`${relative(SRC, file)} uses process.env/exit or console`)
    }

    assert.deepEqual(wrong, [])
  })
})
