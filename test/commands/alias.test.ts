import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

const TSVM = 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc'
const SUBNET_EVM = 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy'
const HASHED = 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf'

describe('tsvm alias', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir())
  })
  after(() => cleanup())

  it('creates the default file under AVALANCHEGO_DATA_DIR, then merges by ID and by name', async () => {
    const env = {AVALANCHEGO_DATA_DIR: join(dir, 'node')}
    const file = join(dir, 'node', 'configs', 'vms', 'aliases.json')
    const first = await tsvmJson(['alias', 'timestampvm', 'tsvm', 'ts'], {env})
    assert.deepEqual(first.json, {file, vmID: TSVM, aliases: ['tsvm', 'ts'], added: ['tsvm', 'ts']})
    const second = await tsvm(['alias', SUBNET_EVM, 'evm'], {env})
    assert.equal(second.code, 0)
    assert.match(second.stdout, new RegExp(`vmID +${SUBNET_EVM}`))
    const third = await tsvmJson(['alias', TSVM, 'ts', 'stamp'], {env})
    assert.deepEqual([third.json.aliases, third.json.added], [['tsvm', 'ts', 'stamp'], ['stamp']])
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {[TSVM]: ['tsvm', 'ts', 'stamp'], [SUBNET_EVM]: ['evm']})
  })

  it('falls back to ~/.avalanchego and takes --hash names', async () => {
    const home = join(dir, 'home')
    const r = await tsvmJson(['alias', 'timestampvm', 'hashed', '--hash'], {
      env: {HOME: home, AVALANCHEGO_DATA_DIR: undefined},
    })
    assert.equal(r.json.vmID, HASHED)
    assert.deepEqual(JSON.parse(await readFile(join(home, '.avalanchego', 'configs', 'vms', 'aliases.json'), 'utf8')), {
      [HASHED]: ['hashed'],
    })
  })

  it('refuses an alias another VM has, and an invalid file, leaving the file untouched', async () => {
    const file = join(dir, 'mine.json')
    const other = JSON.stringify({[SUBNET_EVM]: ['evm']})
    await writeFile(file, other)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, '{"x": [')
    const shape = join(dir, 'shape.json')
    await writeFile(shape, JSON.stringify({[TSVM]: 'tsvm'}))
    const [conflict, invalid, human, wrongShape] = await Promise.all([
      tsvmJson(['alias', 'timestampvm', 'evm', '--file', file]),
      tsvmJson(['alias', 'timestampvm', 'tsvm', '--file', bad]),
      tsvm(['alias', 'timestampvm', 'tsvm', '--file', bad]),
      tsvmJson(['alias', 'timestampvm', 'tsvm', '-f', shape]),
    ])
    assert.deepEqual([conflict.code, conflict.json.error.code], [4, 'ALIAS_CONFLICT'])
    assert.deepEqual([invalid.code, invalid.json.error.code], [4, 'ALIASES_INVALID'])
    assert.equal(human.code, 4)
    assert.match(human.stderr, /\[ALIASES_INVALID\]/)
    assert.deepEqual([wrongShape.code, wrongShape.json.error.code], [4, 'ALIASES_INVALID'])
    assert.equal(await readFile(file, 'utf8'), other)
    assert.equal(await readFile(bad, 'utf8'), '{"x": [')
  })

  it('needs at least one alias (usage, exit 2)', async () => {
    assert.equal((await tsvm(['alias', 'timestampvm', '--file', join(dir, 'none.json')])).code, 2)
  })
})
