import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, sep} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {receiptsUnder} from '../../src/proof/batch.js'
import {itemChecker} from '../../src/proof/check-work.js'
import {parseReceipt} from '../../src/proof/receipt.js'
import {stamp} from '../../src/proof/stamp.js'
import {checkReceipt} from '../../src/proof/verify.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir} from '../helpers/cli.js'
import {openTestChain} from '../helpers/real-vm.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-batch-'))
})
after(async () => {
  await cleanup()
})

/** What receiptsUnder stands for: Node's recursive readdir, filtered to receipts, with '/' between names. */
function plain(root: string): string[] {
  return readdirSync(root, {recursive: true, encoding: 'utf8'})
    .filter((n) => n.endsWith('.tsvm'))
    .map((n) => n.split(sep).join('/'))
}

describe('receiptsUnder', () => {
  it('lists what a recursive readdir lists, in the same order: nested, linked and oddly named entries', () => {
    const root = join(dir, 'receipts')
    for (const sub of ['', 'a', 'a/b', 'a/b/c', 'z', 'm/n', 'dir.tsvm']) mkdirSync(join(root, sub), {recursive: true})
    for (const [i, sub] of ['', 'a', 'a/b', 'a/b/c', 'z', 'm/n', 'dir.tsvm'].entries()) {
      for (const name of ['x.tsvm', `f${i}.bin.tsvm`, 'note.txt', 'é ü.tsvm']) writeFileSync(join(root, sub, name), '')
    }

    mkdirSync(join(dir, 'elsewhere', 'deep'), {recursive: true})
    writeFileSync(join(dir, 'elsewhere', 'deep', 'q.tsvm'), '')
    symlinkSync(join(dir, 'elsewhere'), join(root, 'a', 'link'))
    symlinkSync(join(dir, 'nowhere'), join(root, 'z', 'broken.tsvm'))
    const listed = receiptsUnder(root)
    assert.deepEqual(listed, plain(root))
    assert.ok(listed.includes('a/link/deep/q.tsvm') && listed.includes('z/broken.tsvm') && listed.includes('dir.tsvm'))
    assert.equal(listed.length, 7 * 3 + 3)
    assert.deepEqual(receiptsUnder(join(dir, 'none')), [])
  })
})

describe('itemChecker', () => {
  it('checks each item as parseReceipt and checkReceipt do, receipts of several blocks and chains interleaved', async () => {
    const files: string[] = []
    for (const [k, now] of [1_700_000_000_000, 1_700_000_500_000, 1_700_000_500_000].entries()) {
      const sub = join(dir, `stamped${k}`)
      mkdirSync(sub)
      for (let i = 0; i < 4; i++) writeFileSync(join(sub, `f${i}`), `file ${k} ${i}`)
      const chain = await openTestChain({now: () => now})
      try {
        await stamp(chain, [sub], {cwd: dir})
      } finally {
        await chain.close()
      }

      for (let i = 0; i < 4; i++) files.push(join(sub, `f${i}`))
    }

    // interleaved: each item's block and chain differ from the one before
    const order = [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => files[i]!)
    const receipts = order.map((f) => f + '.tsvm')
    const digests = new Uint8Array(order.length * 32)
    const check = itemChecker(order, receipts, digests)
    const checks = order.map((_, i) => check(i)!)
    for (const [i, c] of checks.entries()) {
      const parsed = parseReceipt(readFileSync(receipts[i]!, 'utf8'))
      const digest = sha256(readFileSync(order[i]!))
      assert.deepEqual(digests.subarray(i * 32, (i + 1) * 32), digest)
      assert.deepEqual(c.receipt, {...parsed, merkle: {...parsed.merkle!, path: []}})
      assert.deepEqual(c.offline, checkReceipt(parsed, digest))
      assert.equal(c.offline.status, 'consistent')
    }

    assert.notDeepEqual(checks[0]!.receipt.block, checks[1]!.receipt.block)
    assert.notDeepEqual(checks[0]!.receipt.chain, checks[1]!.receipt.chain)
  })
})
