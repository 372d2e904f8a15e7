import assert from 'node:assert/strict'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {addAliases, aliasVm, defaultAliasesFile, parseAliases} from '../../src/node/aliases.js'
import {TsvmError} from '../../src/vm/errors.js'
import {vmIdFromName} from '../../src/vm/vmid.js'
import {tempDir} from '../helpers/cli.js'
import {errorCode} from '../helpers/errors.js'

const TSVM = 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc'
const SUBNET_EVM = 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy'

describe('aliases.json (spec §6.2)', () => {
  it('the default file follows AVALANCHEGO_DATA_DIR, else ~/.avalanchego', () => {
    assert.equal(defaultAliasesFile({AVALANCHEGO_DATA_DIR: '/data'}), '/data/configs/vms/aliases.json')
    assert.match(defaultAliasesFile({}), /\.avalanchego\/configs\/vms\/aliases\.json$/)
  })

  it('parses the node format and refuses anything else', () => {
    assert.deepEqual(parseAliases(`{"${TSVM}": ["a", "b"]}`), {[TSVM]: ['a', 'b']})
    assert.deepEqual(parseAliases('{}'), {})
    for (const bad of [
      '',
      '{',
      '[]',
      'null',
      '"x"',
      `{"${TSVM}": "a"}`,
      `{"${TSVM}": [1]}`,
      '{"timestampvm": ["a"]}',
    ]) {
      assert.equal(
        errorCode(() => parseAliases(bad)),
        'ALIASES_INVALID',
        bad,
      )
    }
  })

  it('merges without duplicates and keeps other entries in place', () => {
    const map = {[SUBNET_EVM]: ['evm'], [TSVM]: ['tsvm']}
    const r = addAliases(map, vmIdFromName('timestampvm'), ['tsvm', 'ts', 'ts'])
    assert.deepEqual(r.aliases, ['tsvm', 'ts'])
    assert.deepEqual(r.added, ['ts'])
    assert.deepEqual(Object.keys(r.map), [SUBNET_EVM, TSVM])
    assert.deepEqual(r.map[SUBNET_EVM], ['evm'])
    assert.deepEqual(map[TSVM], ['tsvm'], 'the input map is not changed')
  })

  it('refuses an alias another VM has, an ID as alias, and an empty alias', () => {
    const map = {[SUBNET_EVM]: ['evm']}
    assert.equal(
      errorCode(() => addAliases(map, vmIdFromName('timestampvm'), ['evm'])),
      'ALIAS_CONFLICT',
    )
    assert.equal(
      errorCode(() => addAliases(map, vmIdFromName('timestampvm'), [SUBNET_EVM])),
      'ALIAS_CONFLICT',
    )
    assert.equal(
      errorCode(() => addAliases(map, vmIdFromName('timestampvm'), [''])),
      'INVALID_ARGUMENT',
    )
  })

  describe('files', () => {
    let dir: string
    let cleanup: () => Promise<void>
    before(async () => {
      ;({dir, cleanup} = await tempDir())
    })
    after(() => cleanup())

    it('creates parent dirs, then merges, leaving no temporary file behind', async () => {
      const file = join(dir, 'a', 'configs', 'vms', 'aliases.json')
      const first = await aliasVm(file, vmIdFromName('timestampvm'), ['tsvm'])
      assert.deepEqual(first, {file, vmID: TSVM, aliases: ['tsvm'], added: ['tsvm']})
      await aliasVm(file, vmIdFromName('subnetevm'), ['evm'])
      const again = await aliasVm(file, vmIdFromName('timestampvm'), ['tsvm', 'ts'])
      assert.deepEqual(again.added, ['ts'])
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {[TSVM]: ['tsvm', 'ts'], [SUBNET_EVM]: ['evm']})
      assert.deepEqual(await readdir(join(dir, 'a', 'configs', 'vms')), ['aliases.json'])
    })

    it('leaves an invalid file untouched', async () => {
      await mkdir(join(dir, 'b'))
      const file = join(dir, 'b', 'aliases.json')
      await writeFile(file, '{"oops": ')
      await assert.rejects(
        aliasVm(file, vmIdFromName('timestampvm'), ['tsvm']),
        (e: unknown) => e instanceof TsvmError && e.code === 'ALIASES_INVALID',
      )
      assert.equal(await readFile(file, 'utf8'), '{"oops": ')
    })
  })
})
