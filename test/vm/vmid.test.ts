import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {idFromString, toHex} from '../../src/vm/encoding.js'
import {vmIdFromName, vmIdStringFromName, vmNameFromId} from '../../src/vm/vmid.js'
import {errorCode} from '../helpers/errors.js'

// spec §6.1
const TABLE: Array<[string, string]> = [
  ['subnetevm', 'srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy'],
  ['', '11111111111111111111111111111111LpoYY'],
  ['abcdefghijklmnopqrstuvwxyz012345', 'jtZ1sadnCmujzQ1nVTwH5aRyido2av7V5574DVAu5F95qUpsV'],
]

describe('VM IDs from names (spec §6.1)', () => {
  for (const [name, vmId] of TABLE) {
    it(`${JSON.stringify(name)} → ${vmId}`, () => {
      assert.equal(vmIdStringFromName(name), vmId)
      assert.equal(vmNameFromId(idFromString(vmId)), name)
    })
  }

  it('the --hash variant is sha256(name)', () => {
    assert.equal(vmIdStringFromName('timestampvm', {hash: true}), 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf')
    assert.equal(vmIdFromName('x'.repeat(100), {hash: true}).length, 32)
  })

  it('right-pads the UTF-8 bytes with zeros', () => {
    assert.equal(toHex(vmIdFromName('ava labs')), '617661206c616273' + '00'.repeat(24))
    assert.equal(vmIdStringFromName('ava labs'), 'jvYi6Tn9idMi7BaymUVi9zWjg5tpmW7trfKG1AYJLKZJ2fsU7')
  })

  it('refuses names over 32 bytes, counting UTF-8 bytes', () => {
    assert.equal(
      errorCode(() => vmIdFromName('a'.repeat(33))),
      'VM_NAME_TOO_LONG',
    )
    assert.equal(
      errorCode(() => vmIdFromName('é'.repeat(17))),
      'VM_NAME_TOO_LONG',
    )
    assert.equal(vmIdFromName('é'.repeat(16)).length, 32)
  })

  it('the reverse is undefined for IDs that are not padded names', () => {
    assert.equal(vmNameFromId(vmIdFromName('timestampvm', {hash: true})), undefined)
    const gap = new Uint8Array(32)
    gap[0] = 0x61
    gap[2] = 0x62
    assert.equal(vmNameFromId(gap), undefined)
    const badUtf8 = new Uint8Array(32)
    badUtf8[0] = 0xff
    assert.equal(vmNameFromId(badUtf8), undefined)
  })

  it('round-trips names without NUL of at most 32 bytes', () => {
    fc.assert(
      fc.property(
        fc
          .string({unit: 'grapheme', maxLength: 12})
          .filter((s) => !s.includes('\0') && new TextEncoder().encode(s).length <= 32),
        (name) => assert.equal(vmNameFromId(vmIdFromName(name)), name),
      ),
      {seed: 7, numRuns: 200},
    )
  })
})
