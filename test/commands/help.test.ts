import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {tsvm, tsvmJson} from '../helpers/cli.js'

describe('help, unknown commands and flags', () => {
  it('tsvm help, tsvm help <command>, tsvm -h and tsvm <command> -h print help and exit 0', async () => {
    const [help, helpStamp, h, stampH] = await Promise.all([
      tsvm(['help']),
      tsvm(['help', 'stamp']),
      tsvm(['-h']),
      tsvm(['stamp', '-h']),
    ])
    for (const r of [help, h]) {
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^COMMANDS$/m)
      assert.match(r.stdout, /^ {2}stamp {2,}/m)
    }

    for (const r of [helpStamp, stampH]) {
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^USAGE\n {2}\$ tsvm stamp /m)
      assert.match(r.stdout, /-o, --out=<dir>/)
    }

    assert.equal(helpStamp.stdout, stampH.stdout)
  })

  it('an unknown command names the nearest one, without the arguments or a ":"', async () => {
    const [stmp, getblock, vmid, none] = await Promise.all([
      tsvm(['stmp', 'README.md']),
      tsvm(['get_block', 'x', 'y']),
      tsvm(['vmid', 'timestampvm']),
      tsvm(['xyzzy']),
    ])
    assert.equal(stmp.code, 2)
    assert.match(stmp.stderr, /"stmp" is not a tsvm command: did you mean stamp\?/)
    assert.doesNotMatch(stmp.stderr, /README|:README|stmp:/)
    assert.match(getblock.stderr, /did you mean get-block\?/)
    assert.doesNotMatch(getblock.stderr, /get_block:x/)
    assert.match(vmid.stderr, /did you mean vm-id\?/)
    assert.equal(none.code, 2)
    assert.doesNotMatch(none.stderr, /did you mean/)
    assert.match(none.stderr, /\[USAGE\]/)
  })

  it('an unknown command under --json is an error object with code USAGE and exit 2', async () => {
    const r = await tsvmJson(['stamps', 'x'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'USAGE')
    assert.equal(r.json.error.exitCode, 2)
    assert.match(r.json.error.message, /did you mean stamp\?/)
  })

  it('a mistyped flag names the nearest flag of that command, on one line, under --json too', async () => {
    const [text, json] = await Promise.all([
      tsvm(['stamp', 'f', '--out-dri', 'x']),
      tsvmJson(['blocks', '--limt', '3']),
    ])
    assert.equal(text.code, 2)
    assert.equal(
      text.stderr,
      'Error: unknown flag --out-dri (did you mean --out?): see tsvm stamp --help [USAGE]\n',
    )
    assert.equal(json.code, 2)
    assert.equal(json.json.error.code, 'USAGE')
    assert.equal(json.json.error.message, 'unknown flag --limt (did you mean --limit?): see tsvm blocks --help')
  })

  it("parse errors read as one line, without oclif's layout", async () => {
    const [integer, missing, exclusive] = await Promise.all([
      tsvm(['blocks', '--limit', 'abc']),
      tsvm(['vm-id']),
      tsvm(['vm-id', '--hash', '--reverse', 'x']),
    ])
    assert.equal(
      integer.stderr,
      'Error: --limit: expected an integer but received: abc: see tsvm blocks --help [USAGE]\n',
    )
    assert.match(missing.stderr, /^Error: missing argument VALUE, a VM name .*: see tsvm vm-id --help \[USAGE\]\n$/)
    for (const r of [integer, missing, exclusive]) {
      assert.equal(r.code, 2)
      assert.doesNotMatch(r.stderr, /See more help|\t|The following error/)
      assert.equal(r.stderr.split('\n').length, 2, r.stderr)
    }
  })
})
