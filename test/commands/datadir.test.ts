// What the data dir is and is not, through the real binary: commands that only read never create
// a chain (NOT_INITIALIZED, nothing made, not even the dir); a dir the user may not write is a
// permission problem, not a lock held by some process; a chain created on a full disk is a full
// disk, not a damaged database; a --timestamp keeps every digit.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {ClassicLevel} from 'classic-level'

import {canRunAsNobody, tempDir, tsvm, tsvmJson, tsvmUnprivileged, type RunResult} from '../helpers/cli.js'

const HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
const GENESIS_ID = '8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD'

/** Every command that only reads a chain, with the arguments it needs. */
const READERS: string[][] = [
  ['blocks'],
  ['check'],
  ['last-accepted'],
  ['get-block', GENESIS_ID],
  ['get-block', '--height', '0'],
  ['get-block', '--data', HASH],
  ['mempool'],
  // These need a queued payload or a processing block, which only an existing chain can hold.
  ['build'],
  ['accept', GENESIS_ID],
  ['reject', GENESIS_ID],
]

const isRoot = process.getuid?.() === 0

/** Runs tsvm as the unprivileged user `nobody` (root ignores file permissions), with HOME at `cwd`. */
const tsvmAsNobody = (args: string[], cwd: string): Promise<RunResult> =>
  tsvmUnprivileged(args, {cwd, env: {HOME: cwd}})!

describe('data dir diagnosis', () => {
  let root: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-datadir-'))
  })
  after(() => cleanup())

  for (const args of READERS) {
    it(`${args.join(' ')} on a missing data dir: NOT_INITIALIZED, exit 3, nothing created`, async () => {
      const missing = join(root, 'chainEE', 'typo')
      const r = await tsvmJson([...args, '--data-dir', missing])
      assert.deepEqual([r.code, r.json.error.code], [3, 'NOT_INITIALIZED'], JSON.stringify(r.json))
      assert.match(r.json.error.message, /no chain in .*typo: the directory does not exist/)
      assert.equal(existsSync(join(root, 'chainEE')), false)
    })
  }

  it('each read-only command on an empty dir (or one TSVM_DATA_DIR names): NOT_INITIALIZED, and the dir stays empty', async () => {
    const empty = join(root, 'empty')
    mkdirSync(empty)
    for (const args of READERS) {
      const r = await tsvmJson([...args, '--data-dir', empty])
      assert.deepEqual(
        [r.code, r.json.error.code],
        [3, 'NOT_INITIALIZED'],
        `${args.join(' ')}: ${JSON.stringify(r.json)}`,
      )
      assert.match(r.json.error.message, /holds no chain/)
    }

    const env = await tsvmJson(['blocks'], {env: {TSVM_DATA_DIR: empty}})
    assert.deepEqual([env.code, env.json.error.code], [3, 'NOT_INITIALIZED'])
    assert.deepEqual(readdirSync(empty), [])
  })

  it('check on a database created but never written (creation stopped before the genesis): NOT_INITIALIZED; the next propose completes it', async () => {
    const stopped = join(root, 'stopped')
    // What a kill between LevelDB creating its files and the genesis batch landing leaves.
    const db = new ClassicLevel(stopped)
    await db.open()
    await db.close()
    const r = await tsvmJson(['check', '--data-dir', stopped])
    assert.deepEqual([r.code, r.json.error.code], [3, 'NOT_INITIALIZED'], JSON.stringify(r.json))
    assert.match(r.json.error.message, /database is empty .*create the chain there with tsvm init, propose or stamp/)
    const proposed = await tsvmJson(['propose', HASH, '--data-dir', stopped])
    assert.equal(proposed.code, 0, JSON.stringify(proposed.json))
    const checked = await tsvmJson(['check', '--data-dir', stopped])
    assert.equal(checked.code, 0, JSON.stringify(checked.json))
  })

  it('verify --data-dir on an empty dir creates no database', async () => {
    const work = join(root, 'verify')
    mkdirSync(work)
    writeFileSync(join(work, 'a.txt'), 'a\n')
    const stamped = await tsvm(['stamp', 'a.txt', '--data-dir', join(work, 'chain')], {cwd: work})
    assert.equal(stamped.code, 0, stamped.stderr)
    const empty = join(work, 'empty')
    mkdirSync(empty)
    const r = await tsvmJson(['verify', 'a.txt', '--data-dir', empty], {cwd: work})
    assert.notEqual(r.code, 0)
    assert.equal(r.json.error.code, 'NOT_INITIALIZED', JSON.stringify(r.json))
    assert.deepEqual(readdirSync(empty), [])
  })

  it('init, propose and stamp create the chain, the default data dir included, with no set-up', async () => {
    const xdg = join(root, 'xdg')
    const env = {XDG_DATA_HOME: xdg}
    const none = await tsvmJson(['last-accepted'], {env})
    assert.deepEqual([none.code, none.json.error.code], [3, 'NOT_INITIALIZED'])
    assert.equal(existsSync(xdg), false)
    const p = await tsvmJson(['propose', HASH], {env})
    assert.equal(p.code, 0, p.stderr)
    assert.equal((await tsvmJson(['last-accepted'], {env})).json.height, '1')
    assert.equal((await tsvm(['init', '--data-dir', join(root, 'by-init')])).code, 0)
    assert.equal((await tsvmJson(['blocks', '--data-dir', join(root, 'by-init')])).json.blocks.length, 1)
  })

  it('--timestamp above 2^53 keeps every digit; above 2^63-1 (an int64) is a usage error', async () => {
    const d = ['--data-dir', join(root, 'big-time')]
    const big = await tsvmJson(['propose', HASH, '--timestamp', '9007199254740993', ...d])
    assert.deepEqual([big.code, big.json.error.code], [4, 'BLOCK_TIMESTAMP_FUTURE'])
    assert.match(big.json.error.message, /\(9007199254740993 >= /)
    assert.equal((await tsvm(['propose', HASH, '--no-wait', ...d])).code, 0)
    const built = await tsvmJson(['build', '--timestamp', '9223372036854775807', ...d])
    assert.deepEqual([built.code, built.json.error.code], [4, 'BLOCK_TIMESTAMP_FUTURE'])
    assert.match(built.json.error.message, /\(9223372036854775807 >= /)
    for (const bad of ['9223372036854775808', '-1', '1e9', '12.5']) {
      const r = await tsvm(['propose', HASH, `--timestamp=${bad}`, ...d])
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`)
      assert.match(r.stderr, /--timestamp must be a whole number of unix seconds from 0 to 9223372036854775807/)
    }
  })

  describe('permissions (as the unprivileged user nobody)', () => {
    const skip = canRunAsNobody()
      ? false
      : `needs root and runuser to run tsvm as another user (uid ${process.getuid?.()})`
    if (skip) console.log(`# skipped: ${skip}`)

    it(
      'a data dir nobody may write: DATA_DIR_PERMISSION naming it, exit 6, never DB_LOCKED; nothing changes',
      {skip},
      async () => {
        const shared = join(root, 'shared')
        mkdirSync(shared)
        chmodSync(root, 0o755)
        chmodSync(shared, 0o755)
        const chain = join(shared, 'rochain')
        assert.equal((await tsvm(['propose', HASH, '--data-dir', chain])).code, 0)
        chmodSync(chain, 0o555)
        const before = readdirSync(chain).sort()
        for (const args of [['last-accepted'], ['blocks'], ['propose', HASH]]) {
          const r = await tsvmAsNobody([...args, '--data-dir', chain, '--json'], shared)
          const json = JSON.parse(r.stdout) as {error: {code: string; message: string}}
          assert.deepEqual([r.code, json.error.code], [6, 'DATA_DIR_PERMISSION'], `${args[0]}: ${r.stdout}${r.stderr}`)
          assert.ok(json.error.message.includes(chain), json.error.message)
          assert.doesNotMatch(json.error.message, /in use by another/)
        }

        assert.deepEqual(readdirSync(chain).sort(), before)
        // A new chain where nobody may create one.
        const r = await tsvmAsNobody(['propose', HASH, '--data-dir', join(chain, 'sub'), '--json'], shared)
        assert.deepEqual(
          [r.code, (JSON.parse(r.stdout) as {error: {code: string}}).error.code],
          [6, 'DATA_DIR_PERMISSION'],
        )
        assert.equal(existsSync(join(chain, 'sub')), false)
        chmodSync(chain, 0o755)
      },
    )
  })

  describe('file systems (a small tmpfs)', () => {
    const skip = isRoot ? false : `needs root to mount a tmpfs (uid ${process.getuid?.()})`
    if (skip) console.log(`# skipped: ${skip}`)
    let mnt: string
    let mounted = false
    before(async () => {
      if (skip) return
      mnt = join(root, 'mnt')
      mkdirSync(mnt)
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt])
      assert.equal(r.status, 0, `mount failed: ${r.stderr}`)
      mounted = true
    })
    after(() => {
      if (mounted) spawnSync('umount', [mnt])
    })

    it(
      'creating a chain on a full disk: DISK_FULL (exit 6) at whatever step it fails, never DB_CORRUPT, nothing left behind',
      {skip},
      async () => {
        const seen = new Set<string>()
        for (const freeKiB of [0, 4, 8, 12, 16, 24, 40]) {
          spawnSync('rm', ['-rf', join(mnt, 'chain'), join(mnt, 'fill')])
          spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=1024', `count=${64 - freeKiB}`], {
            stdio: 'ignore',
          })
          const r = await tsvmJson(['propose', HASH, '--data-dir', join(mnt, 'chain')])
          if (r.code === 0) {
            seen.add('ok')
            continue
          }

          seen.add(r.json.error.code)
          assert.deepEqual(
            [r.code, r.json.error.code],
            [6, 'DISK_FULL'],
            `${freeKiB} KiB free: ${JSON.stringify(r.json)}`,
          )
          assert.doesNotMatch(r.json.error.message, /repair/)
          assert.equal(
            existsSync(join(mnt, 'chain')),
            false,
            `${freeKiB} KiB free: the failed creation left ${join(mnt, 'chain')}`,
          )
        }

        assert.ok(seen.has('DISK_FULL'), `no size filled the disk: ${[...seen].join(', ')}`)
      },
    )

    it('a chain on a read-only file system: DATA_DIR_PERMISSION, not DB_LOCKED', {skip}, async () => {
      spawnSync('rm', ['-rf', join(mnt, 'fill'), join(mnt, 'chain')])
      assert.equal((await tsvm(['propose', HASH, '--data-dir', join(mnt, 'chain')])).code, 0)
      assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0)
      try {
        const r = await tsvmJson(['last-accepted', '--data-dir', join(mnt, 'chain')])
        assert.deepEqual([r.code, r.json.error.code], [6, 'DATA_DIR_PERMISSION'], JSON.stringify(r.json))
        assert.match(r.json.error.message, /read-only file system/)
      } finally {
        spawnSync('mount', ['-o', 'remount,rw', mnt])
      }
    })
  })
})
