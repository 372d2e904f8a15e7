import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {Level} from 'level'

import {makeBlock} from '../../src/vm/block.js'
import {EMPTY_ID, fromHex, hexEncode, toHex} from '../../src/vm/encoding.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {heightKey} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

const TEST_HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' // sha256("test")
const sha = (s: string) => createHash('sha256').update(s).digest('hex')

let root: string
let cleanup: () => Promise<void>
let n = 0
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-chain-cli-'))
})
after(() => cleanup())
const newDir = () => join(root, `chain-${n++}`)

describe('chain commands, one process per step', () => {
  it('init → propose --no-accept → build ×2 → reject a sibling → accept → get-block → blocks → check', async () => {
    const d = ['--data-dir', newDir()]
    const init = await tsvmJson(['init', '--genesis', 'e2e', ...d])
    assert.equal(init.code, 0)
    const e2e = genesisBlock(new TextEncoder().encode('e2e'))
    assert.equal(init.json.block.id, 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ')
    assert.equal(
      init.json.block.bytes,
      toHex(makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: e2e.data}).bytes),
    )
    assert.equal(init.json.created, true)
    assert.equal((await tsvmJson(['init', '--genesis', '0x65326500', '--hex', ...d])).json.created, false)

    const queued = await tsvmJson(['propose', TEST_HASH, '--no-wait', ...d])
    assert.deepEqual([queued.code, queued.json], [0, {queued: 1, blocks: [], interrupted: false, notProposed: []}])
    assert.equal((await tsvmJson(['propose', '0x' + sha('b'), '--no-wait', ...d])).code, 0)
    const pool = await tsvmJson(['mempool', ...d])
    assert.deepEqual(
      pool.json.payloads.map((p: {dataHex: string}) => p.dataHex),
      [TEST_HASH, sha('b')],
    )

    const a = await tsvmJson(['build', '--timestamp', '1700000000', ...d])
    const b = await tsvmJson(['build', '--timestamp', '1700000001', ...d])
    assert.deepEqual([a.code, a.json.status, a.json.height, a.json.dataHex], [0, 'Processing', '1', TEST_HASH])
    assert.equal(b.json.parentID, a.json.parentID, 'the second build is a sibling: the preference did not move')
    const expectedA = makeBlock({parentId: e2e.id, height: 1n, timestamp: 1_700_000_000n, data: fromHex(TEST_HASH)})
    assert.equal(a.json.bytes, toHex(expectedA.bytes))

    const listed = await tsvmJson(['mempool', ...d])
    assert.deepEqual(
      [listed.json.payloads.length, listed.json.blocks.map((x: {id: string}) => x.id).sort()],
      [0, [a.json.id, b.json.id].sort()],
    )
    const rejected = await tsvmJson(['reject', b.json.id, ...d])
    assert.deepEqual([rejected.code, rejected.json.status], [0, 'Rejected'])
    const again = await tsvmJson(['accept', b.json.id, ...d])
    assert.deepEqual([again.code, again.json.error.code], [4, 'BLOCK_NOT_PROCESSING'])
    const accepted = await tsvmJson(['accept', a.json.id, ...d])
    assert.deepEqual([accepted.code, accepted.json.status], [0, 'Accepted'])

    const last = await tsvmJson(['get-block', ...d])
    assert.equal(last.json.id, a.json.id)
    assert.equal(last.json.time, '2023-11-14T22:13:20.000Z')
    assert.equal(last.json.data, hexEncode(fromHex(TEST_HASH)))
    assert.equal((await tsvmJson(['get-block', b.json.id, ...d])).json.status, 'Rejected')
    assert.equal((await tsvmJson(['get-block', '--height', '0', ...d])).json.id, init.json.block.id)
    const byData = await tsvmJson(['get-block', '--data', TEST_HASH, ...d])
    assert.deepEqual(
      byData.json.blocks.map((x: {id: string}) => x.id),
      [a.json.id],
    )
    assert.equal((await tsvmJson(['last-accepted', ...d])).json.id, a.json.id)

    const blocks = await tsvmJson(['blocks', ...d])
    assert.deepEqual(
      blocks.json.blocks.map((x: {height: string}) => x.height),
      ['1', '0'],
    )
    const human = await tsvm(['blocks', ...d])
    assert.match(human.stdout, new RegExp(`^1  ${a.json.id}  Accepted  ${TEST_HASH}\n0  `))

    const check = await tsvmJson(['check', ...d])
    assert.deepEqual([check.code, check.json.ok, check.json.lastAcceptedHeight], [0, true, '1'])
  })

  it('errors keep their exit codes: unknown block 3, bad payload 4, genesis mismatch 4, empty mempool 3', async () => {
    const d = ['--data-dir', newDir()]
    assert.equal((await tsvm(['init', ...d])).code, 0)
    const unknown = await tsvmJson(['get-block', '11111111111111111111111111111111LpoYY', ...d])
    assert.deepEqual([unknown.code, unknown.json.error.code], [3, 'BLOCK_NOT_FOUND'])
    const bad = await tsvmJson(['propose', 'abcd', ...d])
    assert.deepEqual([bad.code, bad.json.error.code], [4, 'PAYLOAD_INVALID'])
    const mismatch = await tsvmJson(['init', '--genesis', 'other', ...d])
    assert.deepEqual([mismatch.code, mismatch.json.error.code], [4, 'GENESIS_MISMATCH'])
    const empty = await tsvmJson(['build', ...d])
    assert.deepEqual([empty.code, empty.json.error.code], [3, 'MEMPOOL_EMPTY'])
    const outOfOrder = await tsvm(['propose', TEST_HASH, '--timestamp', '99999999999', ...d])
    assert.equal(outOfOrder.code, 4)
    assert.match(outOfOrder.stderr, /BLOCK_TIMESTAMP_FUTURE/)
    // a payload no block holds is not found, as an unknown ID is (a script asks "is this on the chain?")
    // one after the other: two processes on one data dir at once would meet DB_LOCKED
    const noData = await tsvmJson(['get-block', '--data', 'ab'.repeat(32), ...d])
    const noDataText = await tsvm(['get-block', '--data', 'ab'.repeat(32), ...d])
    assert.deepEqual([noData.code, noData.json.error.code], [3, 'BLOCK_NOT_FOUND'])
    assert.deepEqual([noDataText.code, noDataText.stdout], [3, ''])
    const several = await tsvmJson(['get-block', '11111111111111111111111111111111LpoYY', '--height', '0', ...d])
    assert.deepEqual([several.code, several.json.error.code], [2, 'USAGE'])
    const both = await tsvm(['blocks', '--data-dir', 'x', '--endpoint', 'http://127.0.0.1:1'])
    assert.equal(both.code, 2)
    const remote = await tsvmJson(['last-accepted'], {env: {TSVM_ENDPOINT: 'http://127.0.0.1:1/ext/bc/x'}})
    assert.deepEqual([remote.code, remote.json.error.code], [5, 'RPC_UNREACHABLE'])
  })

  it('propose --file stamps the sha256 of a file; TSVM_DATA_DIR names the data dir', async () => {
    const dir = newDir()
    const file = join(root, 'doc.txt')
    await writeFile(file, 'test')
    const r = await tsvmJson(['propose', '--file', file], {env: {TSVM_DATA_DIR: dir}})
    assert.equal(r.code, 0)
    assert.equal(r.json.blocks[0].dataHex, TEST_HASH)
    assert.equal(r.json.blocks[0].height, '1')
  })

  it('propose - rejects a bad line with its number and queues nothing', async () => {
    const d = ['--data-dir', newDir()]
    assert.equal((await tsvm(['init', ...d])).code, 0)
    const input = `${sha('1')}\n\n${sha('2')}\nnot-a-payload\n`
    const r = await tsvmJson(['propose', '-', '--no-wait', ...d], {input})
    assert.equal(r.code, 4)
    assert.equal(r.json.error.line, 4)
    assert.match(r.json.error.message, /^line 4: /)
    assert.equal((await tsvmJson(['mempool', ...d])).json.payloads.length, 0)
  })

  it('propose - with 5,000 payloads makes 5,000 accepted blocks, heights contiguous, check passes', async () => {
    const d = ['--data-dir', newDir()]
    const lines = Array.from({length: 5000}, (_, i) => sha(String(i)))
    const r = await tsvmJson(['propose', '-', ...d], {input: lines.join('\n') + '\n'})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.queued, 5000)
    assert.equal(r.json.blocks.length, 5000)
    for (const [i, b] of (r.json.blocks as Array<{height: string; dataHex: string}>).entries()) {
      assert.equal(b.height, String(i + 1))
      assert.equal(b.dataHex, lines[i])
    }

    const top = await tsvmJson(['blocks', '--limit', '3', '--from-height', '4000', ...d])
    assert.deepEqual(
      top.json.blocks.map((b: {height: string}) => b.height),
      ['4000', '3999', '3998'],
    )
    const check = await tsvmJson(['check', ...d])
    assert.deepEqual(
      [check.code, check.json.ok, check.json.blockCount, check.json.lastAcceptedHeight],
      [0, true, 5001, '5000'],
    )
  })

  it('propose - prints one row per block over several groups, in order, as the chain stores them', async () => {
    const d = ['--data-dir', newDir()]
    const lines = Array.from({length: 10_000}, (_, i) => sha(`row ${i}`)) // three groups of at most 4,097
    const r = await tsvm(['propose', '-', ...d], {input: lines.join('\n') + '\n'})
    assert.equal(r.code, 0, r.stderr)
    const rows = r.stdout.trimEnd().split('\n')
    assert.equal(rows.length, 10_000)
    const stored = await tsvmJson(['blocks', '--limit', '10000', ...d])
    const oldestFirst = (
      stored.json.blocks as Array<{height: string; id: string; status: string; dataHex: string}>
    ).reverse()
    assert.deepEqual(
      rows.map((row) => row.split(/ +/)),
      oldestFirst.map((b) => [b.height, b.id, b.status, b.dataHex]),
    )
    assert.deepEqual(
      oldestFirst.map((b) => b.dataHex),
      lines,
    )
  })

  it('check exits 4 with CHAIN_CHECK_FAILED on a chain with a deleted height-index key', async () => {
    const dir = newDir()
    const d = ['--data-dir', dir]
    const input = [sha('x'), sha('y'), sha('z')].join('\n')
    assert.equal((await tsvm(['propose', '-', ...d], {input})).code, 0)
    const db = new Level<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
    await db.open()
    await db.del(heightKey(2n))
    await db.close()
    const r = await tsvmJson(['check', ...d])
    assert.deepEqual([r.code, r.json.error.code], [4, 'CHAIN_CHECK_FAILED'])
    assert.ok(r.json.error.problems.some((p: {kind: string}) => p.kind === 'height-gap'))
    const human = await tsvm(['check', ...d])
    assert.equal(human.code, 4)
    assert.match(human.stdout, /height-gap/)
  })

  it('a second process on the same data dir is refused with DB_LOCKED, exit 6', async () => {
    const dir = newDir()
    const vm = await TimestampVM.open(dir)
    try {
      const r = await tsvmJson(['last-accepted', '--data-dir', dir])
      assert.deepEqual([r.code, r.json.error.code], [6, 'DB_LOCKED'])
    } finally {
      await vm.close()
    }

    assert.equal((await tsvm(['init', '--data-dir', dir])).code, 0, 'the lock went with the process that held it')
  })
})
