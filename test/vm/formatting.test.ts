import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {fromHex, toHex} from '../../src/vm/encoding.js'
import {decodeDetect, encodeWith, fitLength, printableText} from '../../src/vm/formatting.js'
import {errorCode} from '../helpers/errors.js'

describe('decodeDetect', () => {
  it('0x means checksummed hex, anything else CB58', () => {
    assert.deepEqual(decodeDetect('0x0017afa01d'), {encoding: 'hex', bytes: Uint8Array.of(0)})
    assert.deepEqual(decodeDetect('1c7hwa'), {encoding: 'cb58', bytes: Uint8Array.of(0)})
  })

  it('an explicit encoding wins; hexnc keeps every byte', () => {
    assert.equal(toHex(decodeDetect('0x0017afa01d', 'hexnc').bytes), '0017afa01d')
    assert.equal(
      errorCode(() => decodeDetect('1c7hwa', 'hex')),
      'HEX_MISSING_PREFIX',
    )
  })

  it('plain hex without 0x (as tsvm prints it) is read as hexnc; odd hex is a missing prefix, other garbage CB58', () => {
    assert.deepEqual(decodeDetect('0017afa01d'), {encoding: 'hexnc', bytes: Uint8Array.of(0, 0x17, 0xaf, 0xa0, 0x1d)})
    assert.deepEqual(decodeDetect('0017afa01d', 'hexnc'), {
      encoding: 'hexnc',
      bytes: Uint8Array.of(0, 0x17, 0xaf, 0xa0, 0x1d),
    })
    assert.deepEqual(decodeDetect('0017afa01d', 'hex'), {encoding: 'hex', bytes: Uint8Array.of(0)})
    assert.equal(
      errorCode(() => decodeDetect('017afa01d')),
      'HEX_MISSING_PREFIX',
    )
    assert.equal(
      errorCode(() => decodeDetect('1c7hwO')),
      'CB58_BAD_CHAR',
    )
    assert.equal(
      errorCode(() => decodeDetect('1c7hwb')),
      'CB58_BAD_CHECKSUM',
    )
    assert.equal(
      errorCode(() => decodeDetect('0x0017afa01e')),
      'HEX_BAD_CHECKSUM',
    )
  })

  it('"" is no bytes, as Go decodes it', () => {
    assert.equal(decodeDetect('').bytes.length, 0)
  })
})

describe('fitLength (static API length, spec §3.2)', () => {
  it('pads, truncates, or keeps', () => {
    const b = fromHex('010203')
    assert.equal(toHex(fitLength(b, 5)), '0102030000')
    assert.equal(toHex(fitLength(b, 2)), '0102')
    assert.equal(toHex(fitLength(b, 0)), '010203')
    assert.equal(toHex(fitLength(b, -1)), '010203')
    assert.equal(
      encodeWith('cb58', fitLength(fromHex('01020304'), 32)),
      'SkB92DD9M2yeCadw22VbnxfV6b7W5YEnnLRs6fKivk6wh2Zy',
    )
  })
})

describe('printableText', () => {
  it('returns UTF-8 text without control characters', () => {
    assert.equal(printableText(new TextEncoder().encode('héllo\tworld\n')), 'héllo\tworld\n')
    assert.equal(printableText(new Uint8Array(0)), '')
  })

  it('refuses NULs, control bytes and invalid UTF-8', () => {
    assert.equal(printableText(Uint8Array.of(0x61, 0)), undefined)
    assert.equal(printableText(Uint8Array.of(0x1b, 0x5b)), undefined)
    assert.equal(printableText(Uint8Array.of(0xff)), undefined)
    assert.equal(printableText(Uint8Array.of(0xc2, 0x85)), undefined)
  })
})
