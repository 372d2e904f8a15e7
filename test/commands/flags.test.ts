// One vocabulary of flags across commands (the rule in src/flags.ts), checked on the manifest
// oclif loads, and the old names of renamed flags still working through the real binary.
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {ROOT, tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

interface ManifestFlag {
  name: string
  char?: string
  type: 'boolean' | 'option'
  hidden?: boolean
  aliases?: string[]
  allowNo?: boolean
  default?: unknown
  options?: string[]
}
type Manifest = {commands: Record<string, {hidden?: boolean; flags: Record<string, ManifestFlag>}>}

const manifest = async (): Promise<Manifest> =>
  JSON.parse(await readFile(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest

/** The long names with a fixed meaning: their char (none when undefined) and kind. */
const VOCABULARY: Record<string, {char?: string; type: 'boolean' | 'option'}> = {
  'data-dir': {char: 'd', type: 'option'},
  endpoint: {char: 'e', type: 'option'},
  file: {char: 'f', type: 'option'},
  genesis: {char: 'g', type: 'option'},
  receipt: {char: 'r', type: 'option'},
  out: {char: 'o', type: 'option'},
  hex: {char: 'x', type: 'boolean'},
  wait: {type: 'boolean'},
  timeout: {type: 'option'},
}

/** Old names that must not be visible flags any more (each is a hidden alias of the new one). */
const RENAMED = ['accept', 'out-dir', 'output', 'genesis-hex', 'genesis-file']

describe('flag vocabulary', () => {
  it('a short char means one long name in every command', async () => {
    const byChar = new Map<string, Set<string>>()
    for (const [id, command] of Object.entries((await manifest()).commands)) {
      for (const flag of Object.values(command.flags)) {
        for (const char of [flag.char, ...(flag.aliases ?? []).filter((a) => a.length === 1)]) {
          if (char === undefined) continue
          const names = byChar.get(char) ?? new Set<string>()
          names.add(`--${flag.name}`)
          byChar.set(char, names)
          assert.ok(names.size === 1, `-${char} is ${[...names].join(' and ')} (last seen in ${id})`)
        }
      }
    }

    assert.deepEqual(Object.fromEntries(['d', 'e', 'f', 'g', 'r', 'o'].map((c) => [c, [...(byChar.get(c) ?? [])]])), {
      d: ['--data-dir'],
      e: ['--endpoint'],
      f: ['--file'],
      g: ['--genesis'],
      r: ['--receipt'],
      o: ['--out'],
    })
  })

  it('a long name of the vocabulary has its char and kind everywhere; one --timeout default; no old name is visible', async () => {
    const timeouts = new Set<unknown>()
    for (const [id, command] of Object.entries((await manifest()).commands)) {
      for (const flag of Object.values(command.flags)) {
        const want = VOCABULARY[flag.name]
        if (want !== undefined) {
          assert.equal(flag.char, want.char, `${id} --${flag.name}: char`)
          assert.equal(flag.type, want.type, `${id} --${flag.name}: kind`)
        }

        if (flag.name === 'wait') assert.equal(flag.allowNo, true, `${id} --wait`)
        if (flag.name === 'timeout') timeouts.add(flag.default)
        if (!flag.hidden) assert.ok(!RENAMED.includes(flag.name), `${id} still shows --${flag.name}`)
      }
    }

    assert.deepEqual([...timeouts], [120])
  })
})

describe('renamed flags', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-flags-'))
  })
  after(() => cleanup())

  it('the old long names still work, and --help shows only the new ones', async () => {
    const d = ['--data-dir', join(dir, 'chain')]
    const hash = 'ab'.repeat(32)
    const oldInit = await tsvmJson(['init', '--genesis-hex', '0x653265', ...d])
    assert.equal(oldInit.code, 0, oldInit.stderr)
    const newInit = await tsvmJson(['init', '--genesis', '653265', '--hex', ...d])
    assert.deepEqual([newInit.json.created, newInit.json.genesisID], [false, oldInit.json.genesisID])
    const queued = await tsvmJson(['propose', hash, '--no-accept', ...d])
    assert.deepEqual([queued.code, queued.json.queued, queued.json.blocks.length], [0, 1, 0])
    const queuedNew = await tsvmJson(['propose', 'cd'.repeat(32), '--no-wait', ...d])
    assert.deepEqual([queuedNew.code, queuedNew.json.queued, queuedNew.json.blocks.length], [0, 1, 0])

    await tsvm(['genesis', 'e2e', '--out', join(dir, 'g.bin')])
    const fromFile = await tsvmJson(['init', '--genesis-file', join(dir, 'g.bin'), '--data-dir', join(dir, 'c2')])
    const fromFileNew = await tsvmJson(['init', '-f', join(dir, 'g.bin'), '--data-dir', join(dir, 'c2')])
    assert.equal(fromFile.json.block.id, 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ')
    assert.deepEqual([fromFileNew.code, fromFileNew.json.created], [0, false])

    const [initHelp, proposeHelp, stampHelp, installHelp] = await Promise.all([
      tsvm(['init', '--help']),
      tsvm(['propose', '--help']),
      tsvm(['stamp', '--help']),
      tsvm(['plugin', 'install', '--help']),
    ])
    assert.match(initHelp.stdout, /-f, --file=<value>/)
    assert.match(initHelp.stdout, /-x, --hex/)
    assert.doesNotMatch(initHelp.stdout, /genesis-hex|genesis-file/)
    assert.match(proposeHelp.stdout, /--\[no-\]wait/)
    assert.doesNotMatch(proposeHelp.stdout, /accept\]|--no-accept|--\[no-\]accept/)
    assert.match(stampHelp.stdout, /-o, --out=<dir>/)
    assert.doesNotMatch(stampHelp.stdout, /out-dir/)
    assert.match(installHelp.stdout, /-o, --out=<value>/)
    assert.doesNotMatch(installHelp.stdout, /--output/)
  })

  it('stamp --out-dir still writes under the dir; a typo of an old name suggests the new one', async () => {
    const file = join(dir, 'item.txt')
    await writeFile(file, 'x')
    const r = await tsvmJson(['stamp', file, '--out-dir', join(dir, 'proofs'), '--data-dir', join(dir, 'c3')])
    assert.equal(r.code, 0, JSON.stringify(r.json))
    await readFile(join(dir, 'proofs', 'item.txt.tsvm'), 'utf8')
    const typo = await tsvm(['stamp', file, '--out-dri', 'x'])
    assert.match(typo.stderr, /unknown flag --out-dri \(did you mean --out\?\)/)
  })

  it('the removed short chars are unknown flags now (exit 2), not another flag', async () => {
    const [encode, reverse] = await Promise.all([
      tsvmJson(['encode', 'hi', '-e', 'cb58']),
      tsvmJson(['vm-id', '-r', 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy']),
    ])
    for (const r of [encode, reverse]) assert.deepEqual([r.code, r.json.error.code], [2, 'USAGE'])
  })
})
