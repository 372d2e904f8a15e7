import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'

import {parseReceipt} from '../../src/proof/receipt.js'
import {MerkleTree} from '../../src/proof/merkle.js'
import {createRecord, releaseRecord} from '../../src/proof/pending.js'
import {resumeStamps} from '../../src/proof/resume.js'
import {checkTargets, collectItems, readHashes, stamp} from '../../src/proof/stamp.js'
import {checkReceipt, verifyReceipt} from '../../src/proof/verify.js'
import {cb58Encode, hexEncode, toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir} from '../helpers/cli.js'
import {Engine} from '../../src/node/engine.js'
import {startServer} from '../../src/node/server.js'
import type {Chain} from '../../src/chain/chain.js'
import {RemoteChain} from '../../src/chain/remote.js'
import {openTestChain, openTestVm} from '../helpers/real-vm.js'
import {rejectionCode} from '../helpers/errors.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-stamp-'))
})
after(() => cleanup())

/** A real embedded chain on a fresh dir whose propose calls are counted. */
async function countingChain(): Promise<Awaited<ReturnType<typeof openTestChain>> & {proposals: number}> {
  const chain = Object.assign(await openTestChain(), {proposals: 0})
  const propose = chain.propose.bind(chain)
  chain.propose = (...args: Parameters<Chain['propose']>) => {
    chain.proposals++
    return propose(...args)
  }

  chains.push(chain)
  return chain
}

const chains: Chain[] = []
after(async () => {
  for (const c of chains) await c.close()
})

async function tree(root: string, files: Record<string, string>): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), {recursive: true})
    await writeFile(join(root, rel), text)
  }

  return root
}

describe('stamp', () => {
  it('walks directories sorted, skips symlinks, special files and receipts, and applies --glob', async () => {
    const root = await tree(join(dir, 'walk'), {
      'b.txt': 'b',
      'a.md': 'a',
      'sub/c.txt': 'c',
      'sub/deeper/d.txt': 'd',
      'old.txt.tsvm': '{}',
    })
    await symlink(join(root, 'a.md'), join(root, 'link.md'))
    execFileSync('mkfifo', [join(root, 'pipe')])
    const all = await collectItems([root], {cwd: dir})
    assert.deepEqual(
      all.items.map((i) => i.name),
      ['walk/a.md', 'walk/b.txt', 'walk/sub/c.txt', 'walk/sub/deeper/d.txt'],
    )
    assert.deepEqual(all.skipped.map((s) => [s.path.slice(root.length + 1), s.reason]).sort(), [
      ['link.md', 'symlink'],
      ['old.txt.tsvm', 'receipt'],
      ['pipe', 'special file'],
    ])
    const txt = await collectItems([root], {cwd: dir, globs: ['*.txt']})
    assert.deepEqual(
      txt.items.map((i) => i.name),
      ['walk/b.txt', 'walk/sub/c.txt', 'walk/sub/deeper/d.txt'],
    )
    const sub = await collectItems([root], {cwd: dir, globs: ['sub/*.txt']})
    assert.deepEqual(
      sub.items.map((i) => i.name),
      ['walk/sub/c.txt'],
    )
    // a file named twice is stamped once; a symlink named directly is followed
    const twice = await collectItems([join(root, 'b.txt'), join(root, 'b.txt'), join(root, 'link.md')], {cwd: dir})
    assert.deepEqual(
      twice.items.map((i) => i.name),
      ['walk/b.txt', 'walk/link.md'],
    )
    assert.equal(twice.skipped[0]!.reason, 'duplicate')
  })

  it('leaves out temp files of receipt writes, and skips names that are not UTF-8 with a faithful display', async () => {
    const root = await tree(join(dir, 'odd'), {
      'ok.txt': 'ok',
      'sub/ok2.txt': 'ok2',
      '.ok.txt.tsvm.tmp-123': 'half a receipt',
      'sub/.x.tsvm.tmp-9': '',
    })
    // a file and a directory whose names are not UTF-8 (Latin-1 "café", a lone 0xff)
    writeFileSync(Buffer.concat([Buffer.from(root + '/caf'), Buffer.from([0xe9])]), 'latin-1 name')
    mkdirSync(Buffer.concat([Buffer.from(root + '/dir'), Buffer.from([0xff])]))
    writeFileSync(Buffer.concat([Buffer.from(root + '/dir'), Buffer.from([0xff]), Buffer.from('/inner.txt')]), 'inside')
    // a valid name that really holds U+FFFD is stamped
    writeFileSync(join(root, 'real\uFFFD.txt'), 'replacement char')
    const got = await collectItems([root], {cwd: dir})
    assert.deepEqual(
      got.items.map((i) => i.name),
      ['odd/ok.txt', 'odd/real\uFFFD.txt', 'odd/sub/ok2.txt'],
    )
    assert.deepEqual(got.skipped.map((s) => [s.path.slice(root.length + 1), s.reason]).sort(), [
      [String.raw`caf\xe9`, 'name not UTF-8'],
      [String.raw`dir\xff`, 'name not UTF-8'],
    ])
  })

  it('names files outside the working directory relative to the input', async () => {
    const root = await tree(join(dir, 'outside'), {'x/y.txt': 'y'})
    const got = await collectItems([root], {cwd: join(dir, 'walk')})
    assert.deepEqual(
      got.items.map((i) => i.name),
      ['outside/x/y.txt'],
    )
  })

  it('reads hashes from stdin in every payload form, and names bad lines', async () => {
    const h = [1, 2, 3].map((i) => sha256(Uint8Array.of(i)))
    const text = `${toHex(h[0]!)}\n\n${hexEncode(h[1]!)}\r\n${cb58Encode(h[2]!)}\n`
    assert.deepEqual(await readHashes(Readable.from([text])), h)
    const bad = readHashes(Readable.from([`${toHex(h[0]!)}\nnot-a-hash\n`]))
    await assert.rejects(bad, (e: unknown) => e instanceof TsvmError && /line 2/.test(e.message))
    await assert.rejects(
      readHashes(Readable.from(['abcd\n'])),
      (e: unknown) => e instanceof TsvmError && e.code === 'PAYLOAD_INVALID',
    )
  })

  it('stamps stdin hashes into receipts named by hash', async () => {
    const h = [4, 5].map((i) => sha256(Uint8Array.of(i)))
    const res = await stamp(await countingChain(), ['-'], {
      cwd: dir,
      outDir: 'by-hash',
      stdin: Readable.from([h.map((b) => toHex(b)).join('\n')]),
    })
    assert.equal(res.items, 2)
    for (const x of h) {
      const r = parseReceipt(await readFile(join(dir, 'by-hash', toHex(x) + '.tsvm'), 'utf8'))
      assert.equal((await verifyReceipt(r, {hash: x})).status, 'consistent')
    }
  })

  it('never overwrites a receipt without force, and checks before proposing', async () => {
    const root = await tree(join(dir, 'force'), {'a.txt': 'a', 'b.txt': 'b'})
    const chain = await countingChain()
    await stamp(chain, [root], {cwd: dir})
    const first = await readFile(join(root, 'a.txt.tsvm'), 'utf8')
    assert.equal(await rejectionCode(stamp(chain, [root], {cwd: dir})), 'RECEIPT_EXISTS')
    assert.equal(chain.proposals, 1, 'nothing proposed when a receipt would be overwritten')
    await writeFile(join(root, 'a.txt'), 'a2')
    await stamp(chain, [root], {cwd: dir, force: true})
    const second = await readFile(join(root, 'a.txt.tsvm'), 'utf8')
    assert.notEqual(second, first)
    assert.equal((await verifyReceipt(parseReceipt(second), {file: join(root, 'a.txt')})).status, 'consistent')
  })

  it('checkTargets finds a receipt in an existing directory next to missing ones', async () => {
    const out = join(dir, 'targets')
    await mkdir(join(out, 'x', 'y'), {recursive: true})
    await writeFile(join(out, 'x', 'y', 'b.tsvm'), '{}')
    const paths = [
      join(out, 'missing', 'deep', 'a.tsvm'),
      join(out, 'x', 'a.tsvm'),
      join(out, 'x', 'y', 'a.tsvm'),
      join(out, 'x', 'y', 'b.tsvm'),
    ]
    await checkTargets(paths.slice(0, 3), false)
    assert.equal(await rejectionCode(checkTargets(paths, false)), 'RECEIPT_EXISTS')
    await checkTargets(paths, true)
  })

  it('refuses two items that would share a receipt under --out-dir, and nothing to stamp', async () => {
    const a = await tree(join(dir, 'clash'), {'p/one/x.txt': '1', 'q/one/x.txt': '2', 'cwd/k': ''})
    const inputs = [join(a, 'p', 'one'), join(a, 'q', 'one')]
    assert.equal(
      await rejectionCode(stamp(await countingChain(), inputs, {cwd: join(a, 'cwd'), outDir: join(dir, 'clash-out')})),
      'INVALID_ARGUMENT',
    )
    const empty = join(dir, 'empty')
    await mkdir(empty)
    assert.equal(await rejectionCode(stamp(await countingChain(), [empty], {cwd: dir})), 'INVALID_ARGUMENT')
    assert.equal(
      await rejectionCode(stamp(await countingChain(), [join(dir, 'missing')], {cwd: dir})),
      'FILE_NOT_FOUND',
    )
  })

  it('a write that fails after acceptance keeps a record; resuming writes every receipt with the same block', async () => {
    const root = await tree(join(dir, 'late-failure'), {'a.txt': 'a', 'sub/b.txt': 'b', 'sub/c.txt': 'c'})
    const out = join(dir, 'late-out')
    const pending = join(dir, 'late-pending')
    const chain = await countingChain()
    // After the checks pass (while hashing), a file takes the place of a receipt directory: the
    // receipts of sub/ cannot be written once the block is accepted.
    const block = () =>
      existsSync(out) ||
      (mkdirSync(join(out, 'late-failure'), {recursive: true}),
      writeFileSync(join(out, 'late-failure', 'sub'), 'in the way'))
    const failed = await stamp(chain, [root], {
      cwd: dir,
      outDir: out,
      pendingDir: pending,
      onProgress: (phase) => phase === 'hash' && block(),
    }).catch((error: unknown) => error)
    assert.ok(failed instanceof TsvmError && failed.code === 'RECEIPTS_INCOMPLETE', String(failed))
    assert.match(failed.message, /tsvm stamp --resume/)
    const record = failed.details!.record as string
    assert.ok(existsSync(record), 'the record is kept')
    assert.equal(chain.proposals, 1)
    // out/ was new, so it was built under a temp name; its name was taken meanwhile, so the
    // receipts were moved one by one: a.txt's made it, whole; nothing else is left behind
    assert.deepEqual(readdirSync(join(out, 'late-failure')), ['a.txt.tsvm', 'sub'])
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.includes('.tmp-')),
      [],
      'no temp file or staging directory left',
    )

    await rm(join(out, 'late-failure', 'sub'))
    const resumed = await resumeStamps(pending, async () => Object.assign(Object.create(chain), {async close() {}}))
    assert.equal(resumed.length, 1)
    const r = resumed[0]!
    assert.ok(!('pid' in r))
    assert.equal(r.status, 'complete')
    assert.equal(r.blockID, failed.details!.blockID)
    assert.equal(chain.proposals, 1, 'no second proposal')
    assert.equal((await chain.lastAccepted()).block.height, 1n)
    for (const f of ['a.txt', 'sub/b.txt', 'sub/c.txt']) {
      const receipt = parseReceipt(await readFile(join(out, 'late-failure', f + '.tsvm'), 'utf8'))
      assert.equal((await verifyReceipt(receipt, {file: join(root, f), chain})).status, 'verified', f)
    }

    assert.equal(existsSync(record), false, 'the record is removed once every receipt is written')
    assert.deepEqual(await resumeStamps(pending, async () => chain), [])
  })

  it('resuming a run killed before its payload reached the chain proposes it once', async () => {
    const root = await tree(join(dir, 'never-proposed'), {'a.txt': 'one', 'b.txt': 'two'})
    const pending = join(dir, 'never-pending')
    mkdirSync(pending)
    const chain = await countingChain()
    const hashes = ['one', 'two'].map((t) => sha256(new TextEncoder().encode(t)))
    const run = {
      createdAt: '2026-11-26T12:00:00.000Z',
      chain: {kind: chain.kind, location: chain.location},
      wait: true,
      replace: false,
      payload: new MerkleTree(hashes).root,
      items: ['a.txt', 'b.txt'].map((f, i) => ({
        hash: hashes[i]!,
        name: `never-proposed/${f}`,
        target: join(root, f + '.tsvm'),
      })),
    }
    // the record as a killed run leaves it: written, its process gone
    releaseRecord(createRecord(pending, run))
    const open = async () => Object.assign(Object.create(chain), {async close() {}})
    const [r] = await resumeStamps(pending, open)
    assert.ok(r && !('pid' in r) && r.status === 'complete')
    assert.equal(chain.proposals, 1)
    for (const f of ['a.txt', 'b.txt']) {
      const receipt = parseReceipt(await readFile(join(root, f + '.tsvm'), 'utf8'))
      assert.equal(receipt.createdAt, run.createdAt)
      assert.equal((await verifyReceipt(receipt, {file: join(root, f), chain})).status, 'verified', f)
    }

    assert.deepEqual(readdirSync(pending), [])
  })

  it('writes pending receipts when waiting times out, then reports WAIT_TIMEOUT', async () => {
    const root = await tree(join(dir, 'timeout'), {'a.txt': 'a'})
    // A real node that builds only once an hour: the payload is queued, never accepted in time.
    const vm = await openTestVm()
    const engine = new Engine(vm.engine, {blockTimeMs: 3_600_000})
    const server = await startServer({chain: engine, chainId: 'c', vmId: 'v', dialect: 'v1.3', port: 0})
    const chain = new RemoteChain(server.endpoints.chainAlias, {pollMs: 20})
    try {
      assert.equal(await rejectionCode(stamp(chain, [root], {cwd: dir, timeoutMs: 150})), 'WAIT_TIMEOUT')
      const r = parseReceipt(await readFile(join(root, 'a.txt.tsvm'), 'utf8'))
      assert.equal(r.status, 'pending')
      assert.equal(r.chain.kind, 'remote')
      assert.equal(vm.vm.mempool().length, 1)
    } finally {
      await chain.close()
      await server.close()
      await engine.close()
      await vm.close()
    }
  })

  it('stamps 10,000 files in one block, every receipt verifies', async () => {
    // 20,000 small files: on a memory file system when there is one, so the test stays quick
    const big = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsvm-stamp-many-'))
    const done = () => rm(big, {recursive: true, force: true})
    try {
      const root = join(big, 'many')
      for (let d = 0; d < 100; d++) {
        mkdirSync(join(root, `d${d}`), {recursive: true})
        for (let i = 0; i < 100; i++) writeFileSync(join(root, `d${d}`, `f${i}`), `${d}/${i}`)
      }

      const chain = await countingChain()
      const res = await stamp(chain, [root], {cwd: big, outDir: join(big, 'receipts')})
      assert.equal(res.items, 10_000)
      assert.equal(chain.proposals, 1)
      assert.equal((await chain.lastAccepted()).block.height, 1n, 'one block besides genesis')
      for (const {receipt, name} of res.receipts) {
        const r = parseReceipt(readFileSync(receipt, 'utf8'))
        assert.equal(r.merkle!.leaves, 10_000)
        const [, d, i] = /^many\/d(\d+)\/f(\d+)$/.exec(name!)!
        assert.equal(checkReceipt(r, sha256(new TextEncoder().encode(`${d}/${i}`))).status, 'consistent', name)
      }

      assert.equal((await stat(join(big, 'receipts', 'many', 'd99', 'f99.tsvm'))).isFile(), true)
    } finally {
      await done()
    }
  })
})
