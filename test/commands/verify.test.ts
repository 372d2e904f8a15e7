import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {stamp} from '../../src/proof/stamp.js'
import {toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {openTestChain} from '../helpers/real-vm.js'

/** The chains' clock when stamping: 2023-11-14T22:13:30Z. */
const STAMP_TIME_MS = 1_700_000_010_000
let dir: string
let cleanup: () => Promise<void>
const nowhere = () => join(dir, 'no-such-data-dir')
const offline = () => ({cwd: dir, env: {TSVM_DATA_DIR: nowhere()}})

before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-verify-cli-'))
  await writeFile(join(dir, 'a.txt'), 'alpha\n')
  await writeFile(join(dir, 'b.txt'), 'beta\n')
  await writeFile(join(dir, 'c.txt'), 'gamma\n')
  // Each on its own real chain, closed and removed afterwards: verify must not need it.
  const stampOn = async (...args: Parameters<typeof stamp> extends [unknown, ...infer R] ? R : never): Promise<void> => {
    const chain = await openTestChain({now: () => STAMP_TIME_MS})
    try {
      await stamp(chain, ...args)
    } finally {
      await chain.close()
    }
  }
  await stampOn(['a.txt'], {cwd: dir})
  await stampOn(['b.txt', 'c.txt'], {cwd: dir})
  await stampOn(['c.txt'], {cwd: dir, outDir: 'pending', wait: false})
})
after(() => cleanup())

describe('tsvm verify (offline)', () => {
  it('verifies a stamped file with no data dir and no network, and creates nothing', async () => {
    const r = await tsvm(['verify', 'a.txt'], offline())
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^verified a\.txt existed no later than 2023-11-14T22:13:30\.000Z \(block \w+, height 1\)\n$/)
    const j = await tsvmJson(['verify', 'b.txt'], offline())
    assert.equal(j.code, 0)
    assert.equal(j.json.status, 'verified')
    assert.equal(j.json.checkedOn, 'offline')
    assert.equal(existsSync(nowhere()), false)
  })

  it('refuses a --data-dir that does not exist, without creating it', async () => {
    const r = await tsvmJson(['verify', 'a.txt', '--data-dir', nowhere()], {cwd: dir})
    assert.equal(r.code, 3)
    assert.equal(r.json.error.code, 'NOT_INITIALIZED')
    assert.equal(existsSync(nowhere()), false)
  })

  it('verifies a bare hash with --receipt', async () => {
    const h = toHex(sha256(new TextEncoder().encode('beta\n')))
    const r = await tsvmJson(['verify', h, '--receipt', 'b.txt.tsvm'], offline())
    assert.equal(r.code, 0)
    assert.equal(r.json.item, h)
  })

  it('exits 4 for a tampered file and for a tampered receipt', async () => {
    await writeFile(join(dir, 'a2.txt'), 'alpha!\n')
    const r = await tsvmJson(['verify', 'a2.txt', '--receipt', 'a.txt.tsvm'], offline())
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'PROOF_INVALID')
    assert.equal(r.json.error.result.check, 'item')

    const text = await readFile(join(dir, 'b.txt.tsvm'), 'utf8')
    const j = JSON.parse(text)
    j.block.height = String(Number(j.block.height) + 1)
    await writeFile(join(dir, 'bad.tsvm'), JSON.stringify(j))
    const t = await tsvm(['verify', 'b.txt', '--receipt', 'bad.tsvm'], offline())
    assert.equal(t.code, 4)
    assert.match(t.stderr, /\[PROOF_INVALID\]/)

    await writeFile(join(dir, 'v2.tsvm'), JSON.stringify({...JSON.parse(text), version: 2}))
    const v = await tsvmJson(['verify', 'b.txt', '--receipt', 'v2.tsvm'], offline())
    assert.equal(v.code, 4)
    assert.equal(v.json.error.code, 'RECEIPT_INVALID')
    assert.equal(v.json.error.field, 'version')
  })

  it('exits 3 for a pending receipt and for a missing receipt', async () => {
    const p = await tsvmJson(['verify', 'c.txt', '--receipt', 'pending/c.txt.tsvm'], offline())
    assert.equal(p.code, 3)
    assert.equal(p.json.error.code, 'PENDING')
    const m = await tsvmJson(['verify', 'c.txt', '--receipt', 'missing.tsvm'], offline())
    assert.equal(m.code, 3)
    assert.equal(m.json.error.code, 'FILE_NOT_FOUND')
  })

  it('info shows a receipt and its offline check', async () => {
    const r = await tsvm(['info', 'c.txt.tsvm'], offline())
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /merkle +leaf 1 of 2, path of 1/)
    assert.match(r.stdout, /check +consistent \(offline\)/)
    const j = await tsvmJson(['info', 'bad.tsvm'], offline())
    assert.equal(j.code, 0)
    assert.equal(j.json.check.status, 'invalid')
    assert.equal(j.json.check.check, 'block.height')
    assert.equal(j.json.format, 'tsvm-receipt')
  })
})
