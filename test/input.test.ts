import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {parsePayloadLines} from '../src/input.js'
import {cb58Encode, hexEncode, parsePayload, toHex} from '../src/vm/encoding.js'
import {TsvmError} from '../src/vm/errors.js'

describe('parsePayloadLines', () => {
  it(String.raw`reads every form parsePayload takes, one per line, with \n or \r\n, skipping blank lines`, () => {
    const forms = fc.tuple(
      fc.uint8Array({minLength: 32, maxLength: 32}),
      fc.constantFrom('hex', 'HEX', '0xhex', 'checked', 'cb58', 'padded'),
      fc.constantFrom('\n', '\r\n', '\n\n', '\n  \t\n'),
    )
    fc.assert(
      fc.property(fc.array(forms, {maxLength: 12}), fc.boolean(), (lines, bytes) => {
        const text = lines
          .map(([data, form, end]) => {
            const hex = toHex(data)
            const shown = {
              hex,
              HEX: hex.toUpperCase(),
              '0xhex': '0x' + hex,
              checked: hexEncode(data),
              cb58: cb58Encode(data),
              padded: ` ${hex}\t`,
            }[form]
            return shown + end
          })
          .join('')
        const got = parsePayloadLines(bytes ? new TextEncoder().encode(text) : text)
        assert.deepEqual(
          got.map((d) => toHex(d)),
          lines.map(([data]) => toHex(data)),
        )
        assert.deepEqual(
          got.map((d) => toHex(d)),
          text
            .split(/\r?\n/)
            .filter((l) => l.trim() !== '')
            .map((l) => toHex(parsePayload(l).data)),
        )
      }),
      {seed: 13, numRuns: 300},
    )
  })

  it('names the first bad line, counting blank ones; a 64-character line that is not hex is not a payload', () => {
    const good = 'ab'.repeat(32)
    for (const [text, line] of [
      [`${good}\n\n${good.slice(1)}\n`, 3],
      [`${good}\r\n${'g'.repeat(64)}\r\n`, 2],
      [`\n${good}\n${good} ${good}`, 3],
    ] as const) {
      assert.throws(
        () => parsePayloadLines(new TextEncoder().encode(text)),
        (e: unknown) => e instanceof TsvmError && (e.details as {line?: number} | undefined)?.line === line,
      )
    }
  })
})
