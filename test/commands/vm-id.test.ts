import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {tsvm, tsvmJson} from '../helpers/cli.js'

describe('tsvm vm-id', () => {
  it('prints the VM IDs of spec §6.1', async () => {
    const [evm, long, hashed, json] = await Promise.all([
      tsvm(['vm-id', 'subnetevm']),
      tsvm(['vm-id', 'abcdefghijklmnopqrstuvwxyz012345']),
      tsvm(['vm-id', 'timestampvm', '--hash']),
      tsvmJson(['vm-id', 'subnetevm']),
    ])
    assert.deepEqual([evm.code, evm.stdout], [0, 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy\n'])
    assert.equal(long.stdout, 'jtZ1sadnCmujzQ1nVTwH5aRyido2av7V5574DVAu5F95qUpsV\n')
    assert.equal(hashed.stdout, 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf\n')
    assert.deepEqual(json, {
      code: 0,
      stderr: '',
      json: {
        name: 'subnetevm',
        vmID: 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy',
        hex: '7375626e657465766d' + '00'.repeat(23),
        hashed: false,
      },
    })
  })

  it('--json prints pretty JSON, two-space indented, with a final newline (results and errors)', async () => {
    const [ok, bad] = await Promise.all([
      tsvm(['vm-id', 'timestampvm', '--json']),
      tsvm(['vm-id', 'a'.repeat(33), '--json']),
    ])
    assert.equal(ok.stdout, JSON.stringify(JSON.parse(ok.stdout), null, 2) + '\n')
    assert.match(ok.stdout, /^\{\n {2}"name": "timestampvm",\n/)
    assert.equal(bad.stdout, JSON.stringify(JSON.parse(bad.stdout), null, 2) + '\n')
    assert.match(bad.stdout, /^\{\n {2}"error": \{\n {4}"code": /)
  })

  it('--reverse gives the name back, or says it was not made from one', async () => {
    const [name, json, none, bad] = await Promise.all([
      tsvm(['vm-id', '--reverse', 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc']),
      tsvmJson(['vm-id', '--reverse', 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy']),
      tsvmJson(['vm-id', '--reverse', 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf']),
      tsvmJson(['vm-id', '--reverse', 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dz']),
    ])
    assert.deepEqual([name.code, name.stdout], [0, 'timestampvm\n'])
    assert.equal(json.json.name, 'subnetevm')
    assert.deepEqual([none.code, none.json.error.code, none.json.error.exitCode], [3, 'VM_NAME_UNKNOWN', 3])
    assert.equal(none.json.error.vmID, 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf')
    assert.deepEqual([bad.code, bad.json.error.code], [4, 'CB58_BAD_CHECKSUM'])
  })

  it('refuses names over 32 bytes with exit 4 (human and --json)', async () => {
    const name = 'a'.repeat(33)
    const [human, json, usage] = await Promise.all([
      tsvm(['vm-id', name]),
      tsvmJson(['vm-id', name]),
      tsvm(['vm-id', 'x', '--hash', '--reverse']),
    ])
    assert.equal(human.code, 4)
    assert.equal(human.stdout, '')
    assert.match(human.stderr, /VM_NAME_TOO_LONG/)
    assert.deepEqual([json.code, json.json.error.code, json.json.error.exitCode], [4, 'VM_NAME_TOO_LONG', 4])
    assert.equal(usage.code, 2)
  })
})
