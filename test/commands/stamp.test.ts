import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {parseReceipt} from '../../src/proof/receipt.js'
import {checkReceipt} from '../../src/proof/verify.js'
import {toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

let dir: string
let cleanup: () => Promise<void>
const data = () => join(dir, 'data')
const env = () => ({cwd: dir, env: {TSVM_DATA_DIR: data()}})

before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-stamp-cli-'))
  await writeFile(join(dir, 'report.txt'), 'quarterly numbers\n')
  await writeFile(join(dir, 'later.txt'), 'written later\n')
  await writeFile(join(dir, 'other.txt'), 'something else\n')
})
after(() => cleanup())

describe('tsvm stamp / verify / upgrade on the embedded chain', () => {
  it('stamps a file and verifies it offline and on the chain', async () => {
    const s = await tsvmJson(['stamp', 'report.txt'], env())
    assert.equal(s.code, 0, s.stderr)
    assert.equal(s.json.status, 'complete')
    assert.equal(s.json.receipts.length, 1)
    const receipt = parseReceipt(await readFile(join(dir, 'report.txt.tsvm'), 'utf8'))
    assert.equal(receipt.chain.kind, 'embedded')
    assert.equal(receipt.block!.height.toString(), s.json.block.height)

    const offline = await tsvm(['verify', 'report.txt'], {cwd: dir})
    assert.equal(offline.code, 3, 'no chain named: consistent, not verified')
    assert.match(offline.stderr, /NOT checked against any chain.*\[UNANCHORED\]/)

    const online = await tsvm(['verify', 'report.txt', '--data-dir', data()], {cwd: dir})
    assert.equal(online.code, 0, online.stderr)
    assert.match(
      online.stdout,
      new RegExp(
        `existed no later than ${receipt.block!.time.replaceAll('.', String.raw`\.`)} \\(block ${s.json.block.id}, height ${s.json.block.height}; accepted on `,
      ),
    )
    const json = await tsvmJson(['verify', 'report.txt'], env())
    assert.equal(json.code, 0)
    assert.equal(json.json.checkedOn, data())

    const again = await tsvmJson(['stamp', 'report.txt'], env())
    assert.equal(again.code, 2)
    assert.equal(again.json.error.code, 'RECEIPT_EXISTS')
  })

  it('writes pending receipts with --no-wait and completes them with upgrade', async () => {
    const s = await tsvmJson(['stamp', 'later.txt', '--no-wait'], env())
    assert.equal(s.code, 0, s.stderr)
    assert.equal(s.json.status, 'pending')
    const v = await tsvmJson(['verify', 'later.txt'], {cwd: dir})
    assert.equal(v.code, 3)
    assert.equal(v.json.error.code, 'PENDING')
    const early = await tsvmJson(['upgrade', 'later.txt.tsvm'], {cwd: dir})
    assert.equal(early.code, 3)
    assert.equal(early.json.error.code, 'PENDING')

    // another stamp builds blocks from the mempool in order, ours first
    assert.equal((await tsvm(['stamp', 'other.txt'], env())).code, 0)
    const up = await tsvmJson(['upgrade', 'later.txt.tsvm'], {cwd: dir})
    assert.equal(up.code, 0, JSON.stringify(up.json))
    assert.equal(up.json.receipts[0].status, 'upgraded')
    const done = await tsvm(['verify', 'later.txt', '--data-dir', data()], {cwd: dir})
    assert.equal(done.code, 0, done.stderr)
  })

  it('stamps hashes from stdin into receipts named by hash, and verifies a hash', async () => {
    const h = toHex(sha256(new TextEncoder().encode('from a pipe')))
    const s = await tsvmJson(['stamp', '-', '--out', 'piped'], {...env(), input: `${h}\n`})
    assert.equal(s.code, 0, s.stderr)
    assert.equal(s.json.receipts[0].receipt, join(dir, 'piped', `${h}.tsvm`))
    const v = await tsvm(['verify', h, '--receipt', `piped/${h}.tsvm`], env())
    assert.equal(v.code, 0, v.stderr)
    const bad = await tsvmJson(['stamp', '-'], {...env(), input: 'xyz\n'})
    assert.equal(bad.code, 4)
  })

  it('takes --glob before the paths, and skips files it does not match', async () => {
    mkdirSync(join(dir, 'docs', 'sub'), {recursive: true})
    writeFileSync(join(dir, 'docs', 'sub', 'keep.pdf'), 'pdf')
    writeFileSync(join(dir, 'docs', 'drop.txt'), 'txt')
    const s = await tsvmJson(['stamp', '--glob', '*.pdf', 'docs', '-o', 'globbed'], env())
    assert.equal(s.code, 0, s.stderr)
    assert.deepEqual(
      s.json.receipts.map((r: {item: {name: string}}) => r.item.name),
      ['docs/sub/keep.pdf'],
    )
    assert.equal(existsSync(join(dir, 'globbed', 'docs', 'sub', 'keep.pdf.tsvm')), true)
  })

  it('stamps 10,000 files in one block; every receipt verifies', async () => {
    const big = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsvm-stamp-10k-'))
    try {
      for (let d = 0; d < 100; d++) {
        mkdirSync(join(big, 'tree', `d${d}`), {recursive: true})
        for (let i = 0; i < 100; i++) writeFileSync(join(big, 'tree', `d${d}`, `f${i}`), `${d}/${i}`)
      }

      const s = await tsvmJson(['stamp', 'tree', '--out', 'receipts', '--data-dir', join(big, 'data')], {cwd: big})
      assert.equal(s.code, 0, s.stderr)
      assert.equal(s.json.receipts.length, 10_000)
      const heights = new Set<string>()
      for (const {
        receipt,
        item: {name},
      } of s.json.receipts as Array<{receipt: string; item: {name: string}}>) {
        const r = parseReceipt(readFileSync(receipt, 'utf8'))
        const [, d, i] = /^tree\/d(\d+)\/f(\d+)$/.exec(name)!
        assert.equal(checkReceipt(r, sha256(new TextEncoder().encode(`${d}/${i}`))).status, 'consistent', name)
        heights.add(r.block!.height.toString())
      }

      assert.equal(heights.size, 1, 'one block')
      for (const f of ['tree/d0/f0', 'tree/d99/f99']) {
        const v = await tsvm(['verify', f, '--receipt', `receipts/${f}.tsvm`, '--data-dir', join(big, 'data')], {
          cwd: big,
        })
        assert.equal(v.code, 0, v.stderr)
      }
    } finally {
      await rm(big, {recursive: true, force: true})
    }
  })
})

describe('tsvm stamp --timestamp', () => {
  it('pins the block time; one earlier than the last block is refused with what to pass, and nothing is spent', async () => {
    const {dir: d, cleanup: done} = await tempDir('tsvm-stamp-ts-')
    try {
      const chain = join(d, 'chain')
      await writeFile(join(d, 'a.txt'), 'a\n')
      await writeFile(join(d, 'b.txt'), 'b\n')
      const a = await tsvmJson(['stamp', 'a.txt', '-d', chain, '--timestamp', '1700000000'], {cwd: d})
      assert.equal(a.code, 0, a.stderr)
      assert.deepEqual(
        [a.json.block.timestamp, a.json.block.time, a.json.block.height],
        ['1700000000', '2023-11-14T22:13:20.000Z', '1'],
      )
      const b = await tsvmJson(['stamp', 'b.txt', '-d', chain, '--timestamp', '1600000000'], {cwd: d})
      assert.deepEqual([b.code, b.json.error.code], [4, 'BLOCK_TIMESTAMP_EARLY'])
      assert.match(
        b.json.error.message,
        /timestamped 1700000000 .*pass --timestamp 1700000000 or later, or leave --timestamp out/,
      )
      assert.equal(existsSync(join(d, 'b.txt.tsvm')), false)
      const last = await tsvmJson(['last-accepted', '-d', chain])
      assert.deepEqual([last.json.id, last.json.height], [a.json.block.id, '1'])
    } finally {
      await done()
    }
  })

  it('a tip up to an hour ahead of the clock does not stop stamp: the block takes the tip time', async () => {
    const {dir: d, cleanup: done} = await tempDir('tsvm-stamp-ahead-')
    try {
      const chain = join(d, 'chain')
      const ahead = Math.floor(Date.now() / 1000) + 3000
      const p = await tsvm(['propose', 'ab'.repeat(32), '-d', chain, '--timestamp', String(ahead)], {cwd: d})
      assert.equal(p.code, 0, p.stderr)
      await writeFile(join(d, 'r.txt'), 'report\n')
      const s = await tsvmJson(['stamp', 'r.txt', '-d', chain], {cwd: d})
      assert.equal(s.code, 0, s.stderr)
      assert.deepEqual(
        [s.json.block.timestamp, s.json.block.time],
        [String(ahead), new Date(ahead * 1000).toISOString()],
      )
    } finally {
      await done()
    }
  })
})
