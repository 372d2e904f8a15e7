import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, sep} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {receiptsUnder} from '../../src/proof/batch.js'
import {tempDir} from '../helpers/cli.js'

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
