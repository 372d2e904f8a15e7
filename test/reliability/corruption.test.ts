// Damaged databases: copies of a real data dir with a truncated, garbled or missing LevelDB file.
// Each is reported as DB_CORRUPT (exit 6) with a hint to repair it, and the damage is left as it
// was for a repair to work on: no table file is changed or deleted, and when the damage is found
// at open nothing at all changes (LevelDB's own info LOG aside). A torn write-ahead log is what
// a crash leaves, so it must instead open cleanly with a consistent prefix of the chain.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {cp, readdir, readFile, rm, truncate, unlink, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {basename, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir, tsvm} from '../helpers/cli.js'
import {inspect, payloadOf} from './crash.js'
import {toHex} from '../../src/vm/encoding.js'

/** sha256 of every file in `dir` except LevelDB's info log. */
async function hashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'LOG' || name === 'LOG.old' || name === 'LOCK') continue
    out.set(
      name,
      createHash('sha256')
        .update(await readFile(join(dir, name)))
        .digest('hex'),
    )
  }

  return out
}

async function garble(file: string, at: number): Promise<void> {
  const b = await readFile(file)
  for (let i = at; i < Math.min(b.length, at + 64); i++) b[i] = b[i]! ^ 0x5a
  await writeFile(file, b)
}

describe('damaged data dirs', () => {
  let root: string
  let cleanup: () => Promise<void>
  let original: string
  let settled: string
  let settledFiles: string[]
  let files: string[]
  let chain: string[]

  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-corrupt-'))
    original = join(root, 'original')
    // Four runs, so the chain spans table files (.ldb, written when a reopen replays the log) and
    // a write-ahead log holding the last run (in `original`).
    settled = join(root, 'settled')
    const run = async (n: number, dir: string) => {
      const input = Array.from({length: 300}, (_, i) => toHex(payloadOf(`c${n}`, i))).join('\n')
      const r = await tsvm(['propose', '-', '--data-dir', dir, '--json'], {input})
      assert.equal(r.code, 0, r.stderr)
    }

    for (let n = 0; n < 3; n++) await run(n, settled)
    // `settled`: three level-0 tables and an empty log (check's open replays the log into a
    // table), so opening it replays nothing and starts no compaction.
    assert.equal((await tsvm(['check', '--data-dir', settled])).code, 0)
    settledFiles = await readdir(settled)
    await cp(settled, original, {recursive: true})
    chain = (await inspect(original)).accepted
    assert.equal(chain.length, 900)
    await run(3, original)
    chain.push(...Array.from({length: 300}, (_, i) => toHex(payloadOf('c3', i))))
    files = await readdir(original)
    assert.ok(
      files.some((f) => f.endsWith('.ldb')),
      `no table file in ${files.join(' ')}`,
    )
    assert.ok(
      files.some((f) => f.endsWith('.log')),
      `no log file in ${files.join(' ')}`,
    )
  })
  after(() => cleanup())

  const named = (suffix: string, in_ = files) =>
    in_.find(
      (f) => f.startsWith('MANIFEST-') === (suffix === 'MANIFEST') && f.endsWith(suffix === 'MANIFEST' ? '' : suffix),
    )!

  /** Damage found when LevelDB opens: nothing may change. */
  const atOpen: Array<[string, (dir: string) => Promise<void>]> = [
    ['MANIFEST truncated to 0 bytes', (d) => truncate(join(d, named('MANIFEST')), 0)],
    ['MANIFEST truncated to 100 bytes', (d) => truncate(join(d, named('MANIFEST')), 100)],
    ['MANIFEST garbled', (d) => garble(join(d, named('MANIFEST')), 20)],
    ['CURRENT missing', (d) => unlink(join(d, 'CURRENT'))],
    ['CURRENT naming a missing MANIFEST', (d) => writeFile(join(d, 'CURRENT'), 'MANIFEST-999999\n')],
    ['a table file missing', (d) => unlink(join(d, named('.ldb')))],
  ]
  /**
   * Damage inside a table, found when it is read: the tables must stay as they are. These start
   * from `settled` (no log to replay) because LevelDB compacts level-0 tables once a replay makes
   * four, and a compaction that reads garbled keys hits an assert() inside LevelDB and aborts the
   * process (see the reliability notes); a lookup or scan reports the damage instead.
   */
  const atRead: Array<[string, (dir: string) => Promise<void>]> = [
    ['a table file truncated', (d) => truncate(join(d, named('.ldb', settledFiles)), 1000)],
    ['a table file garbled', (d) => garble(join(d, named('.ldb', settledFiles)), 3000)],
  ]

  for (const [what, damage] of [...atOpen, ...atRead]) {
    it(`${what}: DB_CORRUPT, exit 6, a repair hint, the damage left untouched`, async () => {
      const copy = join(root, what.replaceAll(/\W+/g, '-'))
      const readTime = atRead.some(([w]) => w === what)
      await cp(readTime ? settled : original, copy, {recursive: true})
      await damage(copy)
      const before = await hashes(copy)
      // A write is refused too when the damage is found at open; damage inside a table is only
      // seen by what reads it (LevelDB opens tables lazily), so there only the readers are asked.
      const commands = readTime ? [['check']] : [['check'], ['propose', toHex(payloadOf('late', 0))]]
      for (const args of commands) {
        const raw = await tsvm([args[0]!, '--data-dir', copy, ...args.slice(1), '--json'])
        if (what.includes('garbled') && raw.code === 128 && /leveldb.*Assertion/.test(raw.stderr)) {
          // LevelDB's compaction read the garbled keys and hit its assert(): the process aborts
          // before tsvm can report anything. The files are still checked below.
          continue
        }

        const r = {code: raw.code, json: JSON.parse(raw.stdout) as {error: {code: string; message: string}}}
        assert.equal(r.code, 6, `tsvm ${args[0]} exited ${r.code}: ${JSON.stringify(r.json)}`)
        assert.equal(r.json.error.code, 'DB_CORRUPT', `tsvm ${args[0]}: ${JSON.stringify(r.json)}`)
        assert.match(r.json.error.message, /repair/)
      }

      const afterwards = await hashes(copy)
      if (readTime) {
        for (const [name, hash] of before)
          if (name.endsWith('.ldb')) assert.equal(afterwards.get(name), hash, `${name} changed or vanished`)
      } else {
        assert.deepEqual(afterwards, before, 'files changed although the database never opened')
      }

      await rm(copy, {recursive: true, force: true})
    })
  }

  /**
   * What tsvm repair makes of each: the whole chain back when only LevelDB's bookkeeping was hit
   * (RepairDB rebuilds it from the tables and the log), CHAIN_CHECK_FAILED (exit 4) when blocks
   * were in a file that is gone or cut short, and for a garbled table (LevelDB aborts inside its
   * repair) the data dir left as it was (the repair works on a copy) and no backup made. Every
   * backup is the damaged dir, unchanged.
   */
  const repaired: Record<string, 'whole' | 'check-fails' | 'put-back'> = {
    'MANIFEST truncated to 0 bytes': 'whole',
    'MANIFEST truncated to 100 bytes': 'whole',
    'MANIFEST garbled': 'whole',
    'CURRENT missing': 'whole',
    'CURRENT naming a missing MANIFEST': 'whole',
    'a table file missing': 'check-fails',
    'a table file truncated': 'check-fails',
    'a table file garbled': 'put-back',
  }
  for (const [what, damage] of [...atOpen, ...atRead]) {
    it(`${what}: tsvm repair keeps a backup, then ${repaired[what]}`, async () => {
      const copy = join(root, `repair-${what.replaceAll(/\W+/g, '-')}`)
      const readTime = atRead.some(([w]) => w === what)
      await cp(readTime ? settled : original, copy, {recursive: true})
      await damage(copy)
      const damaged = await hashes(copy)
      const backup = `${copy}.bak`
      const r = await tsvm(['repair', '--data-dir', copy, '--backup', backup, '--json'])
      const out = JSON.parse(r.stdout) as {ok?: boolean; backup?: string; error?: {code: string; message: string}}
      if (repaired[what] !== 'put-back')
        assert.deepEqual(await hashes(backup), damaged, 'the backup is the data dir as it was')
      if (repaired[what] === 'whole') {
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.equal(out.ok, true)
        assert.equal(out.backup, backup)
        const expected = readTime ? chain.slice(0, 900) : chain
        assert.deepEqual((await inspect(copy)).accepted, expected, 'every block is back, in order')
      } else if (repaired[what] === 'check-fails') {
        assert.equal(r.code, 4, r.stdout + r.stderr)
        assert.equal(out.error?.code, 'CHAIN_CHECK_FAILED')
        assert.ok(out.error!.message.includes(`restore ${backup}`), out.error!.message)
      } else {
        assert.equal(r.code, 6, r.stdout + r.stderr)
        assert.equal(out.error?.code, 'DB_CORRUPT')
        assert.match(out.error!.message, /left as it was/)
        assert.deepEqual(await hashes(copy), damaged, 'the data dir is as it was')
        assert.equal(existsSync(backup), false, 'nothing changed, so no backup was made')
        assert.deepEqual(
          (await readdir(root)).filter((f) => f.startsWith(`${basename(copy)}.`)),
          [],
          'no copy or marker left behind',
        )
      }

      await rm(copy, {recursive: true, force: true})
      await rm(backup, {recursive: true, force: true})
    })
  }

  it('a torn write-ahead log (what a crash leaves) opens cleanly with a prefix of the chain', async () => {
    const log = files.find((f) => f.endsWith('.log'))!
    const size = (await readFile(join(original, log))).length
    for (const keep of [7, Math.floor(size / 3), size - 1]) {
      const copy = join(root, `torn-${keep}`)
      await cp(original, copy, {recursive: true})
      await truncate(join(copy, log), keep)
      const got = await inspect(copy) // runs tsvm check, which must pass
      assert.deepEqual(
        got.accepted,
        chain.slice(0, got.accepted.length),
        `log cut at ${keep}: not a prefix of the chain`,
      )
      assert.ok(got.accepted.length >= 900, 'blocks in tables written before the log must survive')
      await rm(copy, {recursive: true, force: true})
    }
  })
})
