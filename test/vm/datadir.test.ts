// ChainState.open's look at the data dir before LevelDB touches it: {create: false}, the repair
// marker, and the repair's lock taken through a link to LevelDB's LOCK file.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {lockDataDir, markerPath, removeMarker, writeMarker} from '../../src/vm/datadir.js'
import {isTsvmError} from '../../src/vm/errors.js'
import {ChainState} from '../../src/vm/state.js'
import {tempDir, tsvmJson} from '../helpers/cli.js'

let root: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-datadir-vm-'))
})
after(() => cleanup())

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    const s = await p
    if (s instanceof ChainState) await s.close()
    return 'opened'
  } catch (error) {
    if (isTsvmError(error)) return error.code
    throw error
  }
}

describe('ChainState.open on a dir without a database', () => {
  it('{create: false}: NOT_INITIALIZED for a missing dir and an empty one, creating nothing', async () => {
    const missing = join(root, 'missing', 'chain')
    assert.equal(await codeOf(ChainState.open(missing, {create: false})), 'NOT_INITIALIZED')
    assert.equal(existsSync(join(root, 'missing')), false)
    const empty = join(root, 'empty')
    mkdirSync(empty)
    assert.equal(await codeOf(ChainState.open(empty, {create: false})), 'NOT_INITIALIZED')
    assert.deepEqual(readdirSync(empty), [])
  })

  it('creates by default, and says it did; a later open did not', async () => {
    const dir = join(root, 'created')
    const first = await ChainState.open(dir)
    assert.equal(first.created, true)
    await first.close()
    const second = await ChainState.open(dir, {create: false})
    assert.equal(second.created, false)
    await second.close()
  })
})

const marker = (dir: string, pid: number, step: 'repair' | 'swap') =>
  writeMarker({
    dataDir: dir,
    pid,
    started: '2026-11-26T00:00:00.000Z',
    step,
    work: `${dir}.repair-copy`,
    backup: `${dir}.backup-x`,
    aside: `${dir}.repair-old`,
  })

describe('the repair marker', () => {
  it('a repair that still runs: DB_LOCKED; one that died: REPAIR_INCOMPLETE naming the backup; none: opens', async () => {
    const dir = join(root, 'marked')
    await (await ChainState.open(dir)).close()
    marker(dir, process.ppid, 'repair')
    assert.equal(await codeOf(ChainState.open(dir)), 'DB_LOCKED')
    // A pid that cannot be running (above Linux's pid_max).
    marker(dir, 2 ** 22 + 1, 'swap')
    await assert.rejects(
      ChainState.open(dir),
      (e: unknown) => isTsvmError(e, 'REPAIR_INCOMPLETE') && e.message.includes(`${dir}.backup-x`),
    )
    removeMarker(dir)
    assert.equal(existsSync(markerPath(dir)), false)
    assert.equal(await codeOf(ChainState.open(dir)), 'opened')
  })

  it('a marker next to a dir that is gone: refused, and nothing is created there', async () => {
    const dir = join(root, 'gone')
    marker(dir, 2 ** 22 + 1, 'swap')
    assert.equal(await codeOf(ChainState.open(dir)), 'REPAIR_INCOMPLETE')
    assert.equal(existsSync(dir), false)
    removeMarker(dir)
  })
})

// Only this process's lock carriers: repairs in other test files come and go in the same tmpdir.
const holders = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`tsvm-repair-lock-${process.pid}-`)).length

describe("the repair's lock", () => {
  it('keeps other processes and this one out while held, holds nothing after release, and leaves no file', async () => {
    const dir = join(root, 'locked')
    await (await ChainState.open(dir)).close()
    const before = holders()
    const lock = await lockDataDir(dir)
    try {
      assert.equal(holders(), before + 1, 'the lock is carried by a temp dir of this process')
      const other = await tsvmJson(['last-accepted', '--data-dir', dir])
      assert.deepEqual([other.code, other.json.error.code], [6, 'DB_LOCKED'])
      assert.equal(await codeOf(ChainState.open(dir)), 'DB_LOCKED')
      assert.equal(await codeOf(lockDataDir(dir)), 'DB_LOCKED')
    } finally {
      await lock.release()
    }

    assert.equal(holders(), before)
    assert.equal(await codeOf(ChainState.open(dir)), 'opened')
  })
})
