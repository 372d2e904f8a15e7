import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {
  claimRecord,
  createRecord,
  listRecords,
  noteBlock,
  type PendingRun,
  pendingDir,
  readRecord,
} from '../../src/proof/pending.js'
import {
  checkWritable,
  commitTemp,
  createFileAtomic,
  isTempName,
  removeStaleTemps,
  syncDir,
  syncFile,
  syncWritten,
  tempPath,
  writeFileAtomic,
  writeTemp,
} from '../../src/proof/write.js'
import {TsvmError} from '../../src/vm/errors.js'
import {tempDir} from '../helpers/cli.js'

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(r.stdout.toString())
}

const isCode = (code: string) => (e: unknown) => e instanceof TsvmError && e.code === code

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-write-'))
})
after(() => cleanup())

describe('receipt writes', () => {
  it('names temp files so that a directory walk can tell them from items', () => {
    const tmp = tempPath('/x/y/report.pdf.tsvm', 4242)
    assert.equal(tmp, '/x/y/.report.pdf.tsvm.tmp-4242')
    assert.ok(isTempName('.report.pdf.tsvm.tmp-4242'))
    for (const name of [
      'report.pdf.tsvm',
      '.report.pdf.tmp-1',
      'report.pdf.tsvm.tmp-1',
      '.a.tsvm.tmp-',
      '.a.tsvm.tmp-1x',
    ])
      assert.ok(!isTempName(name), name)
  })

  it('commits a temp file by link: an existing file is never replaced, and the temp is gone either way', () => {
    const target = join(dir, 'c', 'a.tsvm')
    mkdirSync(join(dir, 'c'))
    writeTemp(tempPath(target), 'first\n')
    assert.equal(existsSync(target), false, 'nothing at the name before the commit')
    assert.equal(commitTemp(tempPath(target), target, false), true)
    assert.equal(readFileSync(target, 'utf8'), 'first\n')
    writeTemp(tempPath(target), 'second\n')
    assert.throws(() => commitTemp(tempPath(target), target, false), isCode('RECEIPT_EXISTS'))
    assert.equal(readFileSync(target, 'utf8'), 'first\n')
    writeTemp(tempPath(target), 'third\n')
    commitTemp(tempPath(target), target, true)
    assert.equal(readFileSync(target, 'utf8'), 'third\n')
    assert.deepEqual(readdirSync(join(dir, 'c')), ['a.tsvm'])
  })

  it('when resuming, adopts a receipt of the same run as it is, replaces one it may, and refuses a foreign one', () => {
    const target = join(dir, 'adopt.tsvm')
    writeFileSync(target, 'ours\n')
    writeTemp(tempPath(target), 'ours\n')
    assert.equal(
      commitTemp(tempPath(target), target, false, () => 'same'),
      false,
    )
    writeTemp(tempPath(target), 'complete now\n')
    assert.equal(
      commitTemp(tempPath(target), target, false, () => 'replace'),
      true,
    )
    assert.equal(readFileSync(target, 'utf8'), 'complete now\n')
    writeTemp(tempPath(target), 'mine\n')
    assert.throws(() => commitTemp(tempPath(target), target, false, () => 'foreign'), isCode('RECEIPT_EXISTS'))
    assert.equal(readFileSync(target, 'utf8'), 'complete now\n')
    assert.equal(existsSync(tempPath(target)), false)
  })

  it('replaces a stale temp file of an earlier process with the same pid', () => {
    const target = join(dir, 'stale.tsvm')
    writeFileSync(tempPath(target), 'left by a kill, much longer than the new text\n')
    writeTemp(tempPath(target), 'new\n')
    assert.equal(readFileSync(tempPath(target), 'utf8'), 'new\n')
  })

  it('writes and creates single files atomically', () => {
    const p = join(dir, 'single.tsvm')
    createFileAtomic(p, 'one\n')
    assert.throws(() => createFileAtomic(p, 'two\n'), isCode('RECEIPT_EXISTS'))
    writeFileAtomic(p, 'three\n')
    assert.equal(readFileSync(p, 'utf8'), 'three\n')
    assert.equal(existsSync(tempPath(p)), false)
  })

  it('syncs by file system, or path by path (the plain version) when asked or when syncfs is not available', () => {
    const files = [join(dir, 'single.tsvm'), join(dir, 'adopt.tsvm')]
    let each = 0
    const plain = syncWritten(
      [dir],
      () => {
        for (const f of files) syncFile(f)
        syncDir(dir)
        each++
      },
      'each',
    )
    assert.equal(plain, 'each')
    assert.equal(each, 1)
    const fast = syncWritten([dir], () => each++)
    assert.equal(each, fast === 'syncfs' ? 1 : 2, 'the plain version runs exactly when syncfs did not')
    if (process.platform === 'linux' && spawnSync('sync', ['-f', dir]).status === 0) assert.equal(fast, 'syncfs')
  })

  it('checkWritable probes the nearest existing directory and lists what to fsync; a file in the way is RECEIPT_UNWRITABLE', () => {
    const base = join(dir, 'dest')
    mkdirSync(base)
    const dest = checkWritable([join(base, 'new', 'deep', 'a.tsvm'), join(base, 'new', 'b.tsvm'), join(base, 'c.tsvm')])
    assert.deepEqual(dest.syncDirs.sort(), [base, join(base, 'new'), join(base, 'new', 'deep')].sort())
    assert.deepEqual(dest.fresh, [join(base, 'new')], 'the highest new directory is built whole')
    assert.deepEqual(readdirSync(base), [], 'the probe is removed and nothing is created')
    writeFileSync(join(base, 'file'), '')
    assert.throws(
      () => checkWritable([join(base, 'file', 'x', 'a.tsvm')]),
      (e: unknown) =>
        isCode('RECEIPT_UNWRITABLE')(e) &&
        /--out DIR/.test((e as Error).message) &&
        (e as TsvmError).details?.errno === 'ENOTDIR',
    )
  })

  it('removes the temp files of dead processes for the receipts named, and only those', () => {
    const d = join(dir, 'stale')
    mkdirSync(d)
    const dead = deadPid()
    const names = [
      '.a.tsvm.tmp-' + dead,
      '.b.tsvm.tmp-' + dead,
      '.a.tsvm.tmp-1',
      'a.tsvm',
      '.a.tsvm.tmp-' + process.pid,
    ]
    for (const n of names) writeFileSync(join(d, n), '')
    assert.equal(removeStaleTemps(d, new Set(['a.tsvm'])), 1)
    assert.deepEqual(readdirSync(d).sort(), names.filter((n) => n !== '.a.tsvm.tmp-' + dead).sort())
  })
})

describe('pending-receipt records', () => {
  const run: PendingRun = {
    createdAt: '2026-11-26T10:00:00.000Z',
    chain: {kind: 'embedded', location: '/data/chain'},
    wait: true,
    replace: false,
    payload: new Uint8Array(32).fill(7),
    items: [
      {hash: new Uint8Array(32).fill(1), name: 'a/b.txt', target: '/out/a/b.txt.tsvm'},
      {hash: new Uint8Array(32).fill(2), target: '/out/0202.tsvm'},
    ],
  }

  it('lives under XDG_DATA_HOME, else ~/.local/share', () => {
    assert.equal(pendingDir({XDG_DATA_HOME: '/x'}, '/home/u'), '/x/tsvm/pending-receipts')
    assert.equal(pendingDir({XDG_DATA_HOME: ''}, '/home/u'), '/home/u/.local/share/tsvm/pending-receipts')
  })

  it('round-trips a run, gains its block, and survives a torn last line', () => {
    const d = join(dir, 'records')
    mkdirSync(d)
    const path = createRecord(d, run)
    assert.deepEqual(readRecord(path), run)
    noteBlock(path, 'blockid', '12')
    assert.deepEqual(readRecord(path), {...run, blockID: 'blockid', height: '12'})
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n\{"blockID".*\n$/, '\n{"blockI'))
    assert.deepEqual(readRecord(path), run)
    writeFileSync(join(d, 'junk.1.pending'), 'not json\n')
    assert.throws(() => readRecord(join(d, 'junk.1.pending')), isCode('RECEIPT_INVALID'))
  })

  it("a record whose owner is running is not claimed; a dead owner's is claimed once", () => {
    const d = join(dir, 'claims')
    mkdirSync(d)
    const text = readFileSync(createRecord(d, run), 'utf8')
    const dead = deadPid()
    writeFileSync(join(d, `20260101-aaaa.${dead}.pending`), text)
    writeFileSync(join(d, `.20260101-bbbb.${dead}.pending.tmp-${dead}`), text.slice(0, 10))
    const entries = listRecords(d)
    assert.equal(
      readdirSync(d).filter((n) => n.includes('.tmp-')).length,
      0,
      'a record half-written by a dead process is removed',
    )
    assert.deepEqual(
      entries.map((e) => [e.pid, e.running]),
      [
        [dead, false],
        [process.pid, true],
      ],
    )
    const mine = claimRecord(entries[0]!)
    assert.equal(mine, join(d, `20260101-aaaa.${process.pid}.pending`))
    assert.equal(claimRecord(entries[0]!), undefined, 'already taken')
  })
})
