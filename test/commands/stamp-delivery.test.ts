// `tsvm stamp` through the real binary when receipts cannot be written: nothing is spent when that
// is known before proposing, and nothing is lost when it happens after (a full disk, a kill):
// `tsvm stamp --resume` finishes the receipts with the block already accepted.
import assert from 'node:assert/strict'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {parseReceipt} from '../../src/proof/receipt.js'
import {checkReceipt} from '../../src/proof/verify.js'
import {sha256} from '../../src/vm/hash.js'
import {BIN, type RunOptions, type RunResult, tsvm, tsvmJson, tsvmUnprivileged} from '../helpers/cli.js'

let base: string
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'tsvm-delivery-'))
  // an unprivileged user must be able to reach what the tests give it
  chmodSync(base, 0o777)
})
const mounts: string[] = []
after(async () => {
  for (const m of mounts) spawnSync('umount', [m])
  await rm(base, {recursive: true, force: true})
})

/** A fresh directory with a data dir and a private XDG_DATA_HOME (where pending records go). */
function workspace(name: string): {dir: string; env: Record<string, string>; pending: string} {
  const dir = join(base, name)
  mkdirSync(dir, {mode: 0o777})
  chmodSync(dir, 0o777)
  return {
    dir,
    env: {TSVM_DATA_DIR: join(dir, 'chain'), XDG_DATA_HOME: join(dir, 'xdg')},
    pending: join(dir, 'xdg', 'tsvm', 'pending-receipts'),
  }
}

/** `n` small files in tree/d<k>/f<i>.txt; returns their paths relative to `dir`. */
function makeTree(dir: string, n: number): string[] {
  const names: string[] = []
  for (let i = 0; i < n; i++) {
    const rel = `tree/d${i % 3}/f${i}.txt`
    mkdirSync(join(dir, 'tree', `d${i % 3}`), {recursive: true})
    writeFileSync(join(dir, rel), `file ${i}\n`)
    names.push(rel)
  }

  return names
}

const height = async (env: Record<string, string>): Promise<string> => {
  const r = await tsvmJson(['last-accepted'], {env})
  assert.equal(r.code, 0, r.stderr)
  return r.json.height
}

/** Every receipt under `dir` that exists parses and is consistent with its file (under `items`); returns how many there are. */
function checkReceipts(dir: string, names: string[], items = dir): {count: number; blockIDs: Set<string>} {
  const blockIDs = new Set<string>()
  let count = 0
  for (const rel of names) {
    const path = join(dir, rel + '.tsvm')
    if (!existsSync(path)) continue
    const r = parseReceipt(readFileSync(path, 'utf8'))
    const check = checkReceipt(r, sha256(readFileSync(join(items, rel))))
    assert.equal(check.status, 'consistent', rel)
    blockIDs.add(check.blockID!)
    count++
  }

  return {count, blockIDs}
}

const temps = (dir: string): string[] =>
  readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((p) => /\.tsvm\.tmp-\d+$/.test(p))

/** Runs tsvm until it reports on stderr that it halted (TSVM_TEST_HALT_STAMP), then SIGKILLs it. */
function runUntilHalted(args: string[], options: RunOptions & {env: Record<string, string>}): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) env[k] = v
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: {...env, NO_COLOR: '1', ...options.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString()
      if (err.includes('halted in the')) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('close', (code, signal) =>
      signal === 'SIGKILL'
        ? resolve(err)
        : reject(new Error(`tsvm ended with ${code}/${signal} before halting:\n${err}`)),
    )
  })
}

/** Runs the real binary as the user `nobody` (the runner is root, and root ignores permissions); undefined when that is impossible. */
const asNobody = (
  args: string[],
  options: {cwd: string; env: Record<string, string>},
): Promise<RunResult> | undefined => tsvmUnprivileged(args, options)

describe('tsvm stamp delivers every receipt, or spends nothing', () => {
  it('into a directory it cannot write: RECEIPT_UNWRITABLE (exit 4) naming the path, and the height is unchanged', async (t) => {
    const {dir, env} = workspace('unwritable')
    // made by root, readable but not writable by nobody; a directory nobody cannot even enter
    mkdirSync(join(dir, 'ro'), {mode: 0o755})
    writeFileSync(join(dir, 'ro', 'r.txt'), 'read-only place\n', {mode: 0o644})
    mkdirSync(join(dir, 'closed'), {mode: 0o700})
    const init = asNobody(['init'], {cwd: dir, env})
    if (init === undefined)
      return t.skip('needs an unprivileged user: the runner is root and `runuser -u nobody` does not work here')
    assert.equal((await init).code, 0)
    for (const args of [['ro/r.txt'], ['ro/r.txt', '--out', 'closed/receipts']]) {
      const r = await asNobody(['stamp', ...args, '--json'], {cwd: dir, env})!
      assert.equal(r.code, 4, r.stdout + r.stderr)
      const {error} = JSON.parse(r.stdout)
      assert.equal(error.code, 'RECEIPT_UNWRITABLE')
      assert.match(error.message, /--out\b/)
      assert.match(error.message, new RegExp(args.length === 1 ? '/ro' : '/closed'))
      assert.equal(await height(env), '0', 'no block was spent')
    }

    assert.equal(existsSync(join(dir, 'ro', 'r.txt.tsvm')), false)
    // nowhere to keep the record of the run: refused before proposing too
    const noRecord = await asNobody(['stamp', 'ro/r.txt', '--out', 'receipts', '--json'], {
      cwd: dir,
      env: {...env, XDG_DATA_HOME: join(dir, 'ro')},
    })!
    assert.equal(noRecord.code, 4, noRecord.stdout + noRecord.stderr)
    assert.equal(JSON.parse(noRecord.stdout).error.code, 'RECEIPT_UNWRITABLE')
    assert.match(JSON.parse(noRecord.stdout).error.message, /XDG_DATA_HOME/)
    assert.equal(await height(env), '0')
    const ok = await asNobody(['stamp', 'ro/r.txt', '--out', 'receipts', '--json'], {cwd: dir, env})!
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(await height(env), '1')
    assert.equal(checkReceipts(join(dir, 'receipts'), ['ro/r.txt'], dir).count, 1)
  })

  for (const phase of ['write', 'commit'] as const) {
    it(`killed in its ${phase} phase: no half receipt, temp files never taken as items, and --resume finishes with the same block`, async () => {
      const {dir, env, pending} = workspace(`kill-${phase}`)
      const names = makeTree(dir, 300)
      // 300 items run on the main thread alone, so the halt after 64 stops all writing at once.
      const said = await runUntilHalted(['stamp', 'tree'], {
        cwd: dir,
        env: {...env, TSVM_TEST_HALT_STAMP: `${phase}:64`},
      })
      assert.match(said, new RegExp(`halted in the ${phase} phase after 64/300`))
      assert.equal(await height(env), '1', 'the block was accepted before the kill')
      const before = checkReceipts(dir, names)
      assert.equal(
        before.count,
        phase === 'write' ? 0 : 64,
        'receipts appear only whole, and only once moved into place',
      )
      assert.equal(temps(join(dir, 'tree')).length, phase === 'write' ? 64 : 300 - 64)
      assert.equal(readdirSync(pending).length, 1, 'a record of the run is kept')
      // the same into a new --out-dir, built whole under a temp name and renamed into place
      const fresh = await runUntilHalted(['stamp', 'tree', '--out', 'receipts', '--data-dir', join(dir, 'chain2')], {
        cwd: dir,
        env: {...env, TSVM_TEST_HALT_STAMP: `${phase}:64`},
      })
      assert.match(fresh, /halted/)
      assert.equal(
        existsSync(join(dir, 'receipts')),
        phase === 'commit',
        'the new directory appears whole, once its receipts are durable',
      )
      assert.equal(
        readdirSync(dir).filter((n) => /^\.receipts\.tsvm\.tmp-\d+$/.test(n)).length,
        phase === 'write' ? 1 : 0,
      )
      assert.equal(readdirSync(pending).length, 2)

      // a later stamp of the same tree takes neither temp files nor receipts as items
      const other = await tsvm(['stamp', 'tree', '--out', 'elsewhere', '--data-dir', join(dir, 'other-chain')], {
        cwd: dir,
        env: {XDG_DATA_HOME: env.XDG_DATA_HOME!},
      })
      assert.equal(other.code, 0, other.stderr)
      assert.match(other.stdout, /^items +300$/m)
      if (phase === 'commit')
        assert.doesNotMatch(other.stderr, /: receipt$/m, 'receipts inside the tree are skipped without a line each')
      assert.match(other.stderr, /2 interrupted stamp runs have receipts still to write: run `tsvm stamp --resume`/)
      if (phase === 'commit') {
        const again = await tsvmJson(['stamp', 'tree'], {cwd: dir, env})
        assert.equal(again.code, 2)
        assert.equal(again.json.error.code, 'RECEIPT_EXISTS')
        assert.match(again.json.error.message, /tsvm stamp --resume/)
      }

      const resumed = await tsvmJson(['stamp', '--resume'], {cwd: dir, env})
      assert.equal(resumed.code, 0, resumed.stderr)
      assert.equal(resumed.json.runs.length, 2)
      assert.deepEqual(
        resumed.json.runs.map((r: {block: {height: string}; receipts: unknown[]}) => [
          r.block.height,
          r.receipts.length,
        ]),
        [
          ['1', 300],
          ['1', 300],
        ],
      )
      const afterwards = checkReceipts(dir, names)
      assert.equal(afterwards.count, 300)
      assert.deepEqual([...afterwards.blockIDs], [resumed.json.runs[0].block.id])
      const inFresh = checkReceipts(join(dir, 'receipts'), names, dir)
      assert.equal(inFresh.count, 300)
      assert.deepEqual([...inFresh.blockIDs], [resumed.json.runs[1].block.id])
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.includes('.tmp-')),
        [],
        'the staging directory is cleaned up',
      )
      if (phase === 'commit')
        assert.deepEqual(
          afterwards.blockIDs,
          before.blockIDs,
          'the receipts written before the kill are of the same block',
        )
      assert.equal(await height(env), '1', 'no second block')
      assert.equal(await height({...env, TSVM_DATA_DIR: join(dir, 'chain2')}), '1', 'no second block')
      assert.deepEqual(temps(join(dir, 'tree')), [], 'temp files are cleaned up')
      assert.deepEqual(readdirSync(pending), [], 'the record is removed')
      const v = await tsvm(['verify', names[299]!, '--data-dir', env.TSVM_DATA_DIR!], {cwd: dir, env})
      assert.equal(v.code, 0, v.stderr)
      const nothing = await tsvm(['stamp', '--resume'], {cwd: dir, env})
      assert.equal(nothing.code, 0)
      assert.match(nothing.stdout, /no interrupted stamp run to finish/)
    })
  }

  it('a file system that fills up after acceptance: RECEIPTS_INCOMPLETE (exit 3) with a record; --resume finishes once there is space', async (t) => {
    const {dir, env, pending} = workspace('full')
    const names = makeTree(dir, 100)
    const out = join(dir, 'out')
    mkdirSync(out)
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', out]).status !== 0) {
      return t.skip('needs root to mount a 64 KiB tmpfs as the receipt directory')
    }

    mounts.push(out)
    const r = await tsvmJson(['stamp', 'tree', '--out', 'out'], {cwd: dir, env})
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.json.error.code, 'RECEIPTS_INCOMPLETE')
    assert.match(r.json.error.message, /tsvm stamp --resume/)
    assert.ok(existsSync(r.json.error.record), 'the error names the record, which exists')
    assert.equal(await height(env), '1')
    assert.deepEqual(temps(out), [], 'temp files of the failed writes are removed')
    assert.equal(checkReceipts(out, names, dir).count, 0)

    execFileSync('mount', ['-o', 'remount,size=4m', out])
    const resumed = await tsvmJson(['stamp', '--resume'], {cwd: dir, env})
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.equal(resumed.json.runs[0].block.id, r.json.error.blockID)
    const done = checkReceipts(out, names, dir)
    assert.equal(done.count, 100)
    assert.deepEqual([...done.blockIDs], [r.json.error.blockID])
    assert.equal(await height(env), '1', 'no second block')
    assert.deepEqual(readdirSync(pending), [])
  })

  it('a name that is not valid UTF-8 is skipped and reported; the rest is stamped', async () => {
    const {dir, env} = workspace('names')
    mkdirSync(join(dir, 'mixed'))
    writeFileSync(join(dir, 'mixed', 'good.txt'), 'good\n')
    writeFileSync(Buffer.from([...Buffer.from(join(dir, 'mixed', 'bad')), 0xff, ...Buffer.from('.txt')]), 'bad name\n')
    const r = await tsvmJson(['stamp', 'mixed'], {cwd: dir, env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.receipts.length, 1)
    assert.deepEqual(r.json.skipped, [{path: join(dir, 'mixed', String.raw`bad\xff.txt`), reason: 'name not UTF-8'}])
    const human = await tsvm(['stamp', 'mixed', '--out', 'again'], {cwd: dir, env})
    assert.equal(human.code, 0)
    assert.match(human.stderr, /skipped .*bad\\xff\.txt: name not UTF-8/)
  })

  it('stamp without paths is a usage error; --resume takes none', async () => {
    const {dir, env} = workspace('usage')
    for (const args of [['stamp'], ['stamp', '--resume', 'x']]) {
      const r = await tsvmJson(args, {cwd: dir, env})
      assert.equal(r.code, 2)
      assert.equal(r.json.error.code, 'USAGE')
    }
  })
})
