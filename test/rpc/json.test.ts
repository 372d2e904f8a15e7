import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  GoJsonError,
  goCompact,
  goDecodeUtf8Raw,
  goEncodeRaw,
  goEncodeRawText,
  goJsonBytes,
  goJsonString,
  goQuote,
  parseJson,
  readFirstValue,
  readRpcRequest,
  requestAsData,
} from '../../src/rpc/json.js'

describe('Go JSON string encoding (spec §3.5)', () => {
  it('escapes HTML characters, U+2028/9 and control bytes like Go <= 1.21', () => {
    assert.equal(goJsonString('<a href="x">&</a>'), String.raw`"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e"`)
    assert.equal(goJsonString('\u2028\u2029'), String.raw`"\u2028\u2029"`)
    assert.equal(goJsonString('\b\f\n\r\t\u0000\u001F\\'), String.raw`"\u0008\u000c\n\r\t\u0000\u001f\\"`)
    assert.equal(goJsonString('\u007F é 😀'), '"\u007F é 😀"')
  })

  it(String.raw`turns each invalid UTF-8 byte into \ufffd and keeps a real U+FFFD raw`, () => {
    assert.equal(goJsonBytes(Uint8Array.from([0xff])), String.raw`"\ufffd"`)
    // A truncated 3-byte sequence: Go steps one byte at a time, so two replacements, then 'A'.
    assert.equal(goJsonBytes(Uint8Array.from([0xe2, 0x82, 0x41])), String.raw`"\ufffd\ufffdA"`)
    // Overlong, surrogate and out-of-range encodings are invalid too.
    assert.equal(goJsonBytes(Uint8Array.from([0xc0, 0xaf])), String.raw`"\ufffd\ufffd"`)
    assert.equal(goJsonBytes(Uint8Array.from([0xed, 0xa0, 0x80])), String.raw`"\ufffd\ufffd\ufffd"`)
    assert.equal(goJsonBytes(Uint8Array.from([0xf4, 0x90, 0x80, 0x80])), String.raw`"\ufffd\ufffd\ufffd\ufffd"`)
    assert.equal(goJsonBytes(Uint8Array.from([0xef, 0xbf, 0xbd])), '"\uFFFD"')
  })

  it('round-trips through JSON.parse for valid strings (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.fullUnicodeString(), (s) => {
        assert.equal(JSON.parse(goJsonString(s)), s)
      }),
      {seed: 42, numRuns: 500},
    )
  })

  it('compacts raw JSON like Go: whitespace out, HTML escaped, numbers untouched', () => {
    assert.equal(
      goCompact(' { "a" : [ 1.0 , 18446744073709551615 ] , "b" : "x y<" } '),
      String.raw`{"a":[1.0,18446744073709551615],"b":"x y\u003c"}`,
    )
    assert.equal(goCompact(String.raw`"a\" <"`), String.raw`"a\" \u003c"`)
  })

  it('quotes like strconv.Quote', () => {
    assert.equal(goQuote(String.raw`a"b\c`), String.raw`"a\"b\\c"`)
    assert.equal(goQuote('\u0000\u0007\n\u007F\u00A0é'), String.raw`"\x00\a\n\x7f\u00a0é"`)
  })
})

describe('Go JSON reading', () => {
  it('reads only the first value and reports Go syntax errors', () => {
    assert.equal(readFirstValue('{"a":1} {"b"').raw, '{"a":1}')
    assert.equal(readFirstValue('  12x').raw, '12')
    const cases: Array<[string, string]> = [
      ['', 'EOF'],
      ['   ', 'EOF'],
      ['{"a":', 'unexpected EOF'],
      ['"abc', 'unexpected EOF'],
      ['x', "invalid character 'x' looking for beginning of value"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b"}', "invalid character '\"' after object key:value pair"],
      ['[1 2]', "invalid character '2' after array element"],
      ['{1:2}', "invalid character '1' looking for beginning of object key string"],
      ['nul!', "invalid character '!' in literal null (expecting 'l')"],
      ['-a', "invalid character 'a' in numeric literal"],
      ['1.e', "invalid character 'e' after decimal point in numeric literal"],
      [String.raw`"\q"`, "invalid character 'q' in string escape code"],
      ['"\u0001"', String.raw`invalid character '\x01' in string literal`],
      ["'", String.raw`invalid character '\'' looking for beginning of value`],
      ['é', "invalid character 'Ã' looking for beginning of value"],
    ]
    for (const [text, message] of cases) {
      assert.throws(
        () => readFirstValue(text),
        (e: Error) => e instanceof GoJsonError && e.message === message,
        text,
      )
    }

    assert.throws(() => parseJson('1 2'), /after top-level value/)
    assert.equal(readFirstValue('['.repeat(10_000) + ']'.repeat(10_000)).kind, 'array')
    assert.throws(
      () => readFirstValue('['.repeat(10_001)),
      (e: Error) => e.message === "invalid character '[' exceeded max depth",
    )
  })

  it('decodes escapes, replacing lone surrogates with U+FFFD as Go does', () => {
    const v = readFirstValue(String.raw`"a\u00e9\ud83d\ude00\ud800x\/"`)
    assert.equal(v.kind === 'string' && v.value, 'aé😀\uFFFDx/')
  })

  it('fills the json2 request envelope, keeping raw id and params', () => {
    const {request, error} = readRpcRequest('{"jsonrpc":"2.0","method":"m","params":[1],"id":18446744073709551615}')
    assert.equal(error, undefined)
    assert.equal(request.id, '18446744073709551615')
    assert.equal(request.params?.raw, '[1]')
    const nul = readRpcRequest('{"jsonrpc":"2.0","method":"m","id":null}')
    assert.equal(nul.request.id, undefined)
    const top = readRpcRequest('null')
    assert.equal(top.error, undefined)
    assert.equal(requestAsData(top.request), '{"jsonrpc":"","method":"","params":null,"id":null}')
    const typeErr = readRpcRequest('{"method":true,"jsonrpc":"2.0"}')
    assert.equal(typeErr.error, 'json: cannot unmarshal bool into Go struct field serverRequest.method of type string')
    assert.equal(typeErr.request.jsonrpc, '2.0')
  })
})

describe('request bodies with invalid UTF-8 (goDecodeUtf8Raw)', () => {
  it('gives back every body byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), (b) => {
        assert.deepEqual(goEncodeRaw(goDecodeUtf8Raw(b)), Buffer.from(b))
      }),
    )
  })

  it('goEncodeRawText writes the same bytes as goEncodeRaw: the text itself when no byte was kept', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), (b) => {
        const text = goDecodeUtf8Raw(b)
        const fast = goEncodeRawText(text)
        assert.deepEqual(Buffer.from(fast), goEncodeRaw(text))
        assert.equal(
          typeof fast === 'string',
          !/[\uDC80-\uDCFF]/.test(text.replaceAll(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')),
        )
      }),
    )
  })

  it('substitutes U+FFFD only inside unquoted strings; a raw value keeps the bytes', () => {
    const body = goDecodeUtf8Raw(
      Buffer.from([
        ...Buffer.from('{"method":"a'),
        0xff,
        ...Buffer.from('","id":"'),
        0xfe,
        0xf0,
        0x90,
        0x82,
        0x80,
        ...Buffer.from('"}'),
      ]),
    )
    const {request} = readRpcRequest(body)
    assert.equal(request.method, 'a\uFFFD')
    assert.deepEqual(goEncodeRaw(goCompact(request.id!)), Buffer.from([0x22, 0xfe, 0xf0, 0x90, 0x82, 0x80, 0x22]))
    assert.throws(() => parseJson(goDecodeUtf8Raw(Buffer.from([0x5b, 0xff, 0x5d]))), {
      message: "invalid character '\u00FF' looking for beginning of value",
    })
    assert.throws(() => parseJson(goDecodeUtf8Raw(Buffer.from([0x5b, 0x80, 0x5d]))), {
      message: String.raw`invalid character '\u0080' looking for beginning of value`,
    })
  })
})
