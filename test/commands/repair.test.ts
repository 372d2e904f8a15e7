// tsvm repair through the real binary: what it refuses (changing nothing) and where its backup
// goes. What it makes of each kind of damage is in test/reliability/corruption.test.ts.
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {mkdir, readdir, readFile, unlink, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {defaultBackup} from '../../src/chain/repair.js'
import {BIN, ROOT, tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {startServe} from '../helpers/serve.js'

/** A repair started in the background that stops at `point` (see pausePoint in src/chain/repair.ts) until released. */
async function pausedRepair(
  args: string[],
  point: 'locked' | 'repaired' | 'swap',
  gate: string,
  env: Record<string, string> = {},
) {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'repair', ...args, '--json'], {
    cwd: ROOT,
    env: {...process.env, NO_COLOR: '1', TSVM_TEST_REPAIR_PAUSE: `${point}:${gate}`, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString()
  })
  child.stderr!.resume()
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code))
  })
  // Wait for the repair to reach its point: it writes <gate>.reached there (no timing involved).
  while (!existsSync(`${gate}.reached`)) {
    if (child.exitCode !== null) throw new Error(`the repair ended before ${point}: ${stdout}`)
    await new Promise((resolve) => {
      setTimeout(resolve, 10)
    })
  }

  return {
    child,
    /** Lets the repair go on and returns its exit code and JSON output. */
    async release() {
      await writeFile(gate, '')
      const code = await exited
      return {code, json: JSON.parse(stdout) as Record<string, any>}
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
  }
}

const payloads = (n: number) => Array.from({length: n}, (_, i) => (i + 1).toString(16).padStart(64, '0'))

const accepted = async (dir: string) =>
  ((await tsvmJson(['blocks', '--data-dir', dir, '--limit', '1000'])).json.blocks as Array<{dataHex: string}>)
    .map((b) => b.dataHex)
    .reverse()

describe('tsvm repair', () => {
  let root: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-repair-'))
  })
  after(() => cleanup())

  /** A chain of 1 + n blocks in a new data dir. */
  async function chain(name: string, n = 3): Promise<string> {
    const dir = join(root, name)
    const input = Array.from({length: n}, (_, i) => (i + 1).toString(16).padStart(64, '0')).join('\n')
    assert.equal((await tsvm(['propose', '-', '--data-dir', dir], {input})).code, 0)
    return dir
  }

  it('a healthy chain: repaired and checked, the backup next to it by default', async () => {
    const dir = await chain('healthy')
    const r = await tsvmJson(['repair', '--data-dir', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      {ok: r.json.ok, blocks: r.json.blockCount, lastAcceptedHeight: r.json.lastAcceptedHeight},
      {ok: true, blocks: 4, lastAcceptedHeight: '3'},
    )
    assert.equal(dirname(r.json.backup), dirname(r.json.dataDir))
    assert.match(basename(r.json.backup), /^healthy\.backup-\d{8}T\d{6}Z$/)
    assert.ok((await readdir(r.json.backup)).includes('CURRENT'))
  })

  it('names the default backup by the UTC time', () => {
    assert.equal(defaultBackup('/d/chain', new Date('2026-11-25T20:30:00.123Z')), '/d/chain.backup-20261125T203000Z')
  })

  it('--no-backup copies nothing; the human output says so', async () => {
    const dir = await chain('nobackup')
    await unlink(join(dir, 'CURRENT'))
    const before = (await readdir(root)).sort()
    const r = await tsvm(['repair', '--data-dir', dir, '--no-backup'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /backup\s+\(none\)/)
    assert.match(r.stdout, /ok: 4 blocks, last accepted height 3/)
    assert.deepEqual((await readdir(root)).sort(), before)
  })

  it('refuses a data dir that a running server holds, and copies nothing', async () => {
    const dir = await chain('served')
    const server = await startServe(['--data-dir', dir])
    try {
      const r = await tsvmJson(['repair', '--data-dir', dir, '--json'])
      assert.equal(r.code, 6)
      assert.equal(r.json.error.code, 'DB_LOCKED')
      assert.deepEqual(
        (await readdir(root)).filter((f) => f.startsWith('served.backup')),
        [],
      )
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('refuses a missing dir and a dir without a database, creating nothing', async () => {
    const missing = join(root, 'missing')
    const empty = join(root, 'empty')
    await mkdir(empty)
    await writeFile(join(empty, 'notes.txt'), 'not a database')
    for (const dir of [missing, empty]) {
      const r = await tsvmJson(['repair', '--data-dir', dir, '--json'])
      assert.equal(r.code, 6)
      assert.equal(r.json.error.code, 'DB_OPEN_FAILED')
      assert.match(r.json.error.message, /nothing to repair/)
    }

    assert.equal(existsSync(missing), false)
    assert.deepEqual(await readdir(empty), ['notes.txt'])
  })

  it('refuses a backup path that exists, before touching the data dir', async () => {
    const dir = await chain('taken')
    await unlink(join(dir, 'CURRENT'))
    const taken = join(root, 'taken-copy')
    await mkdir(taken)
    const r = await tsvmJson(['repair', '--data-dir', dir, '--backup', taken, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'USAGE')
    assert.deepEqual(await readdir(taken), [])
    assert.equal(existsSync(join(dir, 'CURRENT')), false, 'the data dir was not repaired')
  })

  it('--backup and --no-backup together are a usage error', async () => {
    const r = await tsvm(['repair', '--data-dir', join(root, 'x'), '--backup', join(root, 'y'), '--no-backup'])
    assert.equal(r.code, 2)
  })

  describe('against other openers', () => {
    for (const point of ['locked', 'repaired'] as const) {
      it(`while it holds the dir (${point === 'locked' ? 'lock taken' : 'copy repaired, marker written'}), every other command is refused; afterwards the chain is whole`, async () => {
        const dir = await chain(`race-${point}`, 5)
        const gate = join(root, `gate-${point}`)
        const repair = await pausedRepair(['--data-dir', dir], point, gate)
        try {
          for (const args of [['last-accepted'], ['check'], ['propose', 'ff'.repeat(32)], ['init']]) {
            const r = await tsvmJson([...args, '--data-dir', dir])
            assert.deepEqual([r.code, r.json.error.code], [6, 'DB_LOCKED'], `${args[0]}: ${JSON.stringify(r.json)}`)
            if (point === 'repaired') assert.match(r.json.error.message, /being repaired by tsvm repair \(pid \d+/)
          }

          const served = await tsvmJson(['serve', '--data-dir', dir, '--port', '0'])
          assert.deepEqual([served.code, served.json.error.code], [6, 'DB_LOCKED'])
          const second = await tsvmJson(['repair', '--data-dir', dir])
          assert.deepEqual([second.code, second.json.error.code], [6, 'DB_LOCKED'])
        } finally {
          const done = await repair.release()
          assert.equal(done.code, 0, JSON.stringify(done.json))
          assert.equal(done.json.ok, true)
        }

        assert.deepEqual(await accepted(dir), ['00'.repeat(32), ...payloads(5)])
        assert.equal(existsSync(`${dir}.repairing`), false)
        assert.deepEqual(
          (await readdir(root)).filter((f) => f.startsWith(`race-${point}.`) && !f.includes('.backup-')),
          [],
        )
      })
    }

    it('killed while it puts the repaired copy in place: every opener refuses, naming the backup, creating nothing; a second repair finishes it', async () => {
      const dir = await chain('killed-swap', 4)
      const backup = join(root, 'killed-swap-backup')
      const gate = join(root, 'gate-swap')
      // A temp dir of this test's own: any tsvm open removes the lock carriers of dead processes
      // in its temp dir, and other tests' tsvm processes run beside this one.
      const tmp = join(root, 'tmp-swap')
      await mkdir(tmp)
      const env = {TMPDIR: tmp}
      const repair = await pausedRepair(['--data-dir', dir, '--backup', backup], 'swap', gate, env)
      await repair.kill()
      assert.equal(existsSync(dir), false, 'killed between the two renames: the dir is away')
      const item = join(root, 'item.txt')
      await writeFile(item, 'an item\n')
      for (const args of [['propose', 'ee'.repeat(32)], ['last-accepted'], ['stamp', item]]) {
        const r = await tsvmJson([...args, '--data-dir', dir], {env})
        assert.deepEqual([r.code, r.json.error.code], [6, 'REPAIR_INCOMPLETE'], `${args[0]}: ${JSON.stringify(r.json)}`)
        assert.ok(r.json.error.message.includes(backup), r.json.error.message)
        assert.match(r.json.error.message, /run tsvm repair --data-dir/)
        assert.equal(existsSync(dir), false, `${args[0]} created the data dir`)
      }

      const marker = JSON.parse(await readFile(`${dir}.repairing`, 'utf8')) as {backup: string}
      assert.equal(marker.backup, backup)
      const holders = () => readdirSync(tmp).filter((n) => n.startsWith(`tsvm-repair-lock-${repair.child.pid}-`))
      assert.equal(holders().length, 1, 'the killed repair left the temp dir that carried its lock')
      const again = await tsvmJson(['repair', '--data-dir', dir], {env})
      assert.equal(again.code, 0, JSON.stringify(again.json))
      assert.equal(again.json.backup, backup)
      assert.deepEqual(holders(), [], 'the next repair removes it')
      assert.deepEqual(await accepted(dir), ['00'.repeat(32), ...payloads(4)])
      assert.deepEqual(await accepted(backup), ['00'.repeat(32), ...payloads(4)])
      assert.equal(existsSync(`${dir}.repairing`), false)
    })

    it('killed before it changed the dir: openers refuse (REPAIR_INCOMPLETE, the dir as it was); a second repair redoes it', async () => {
      const dir = await chain('killed-early', 3)
      const gate = join(root, 'gate-early')
      const repair = await pausedRepair(['--data-dir', dir, '--no-backup'], 'repaired', gate)
      await repair.kill()
      const r = await tsvmJson(['blocks', '--data-dir', dir])
      assert.deepEqual([r.code, r.json.error.code], [6, 'REPAIR_INCOMPLETE'])
      assert.match(r.json.error.message, /before it changed .*killed-early, which is as it was/)
      const again = await tsvmJson(['repair', '--data-dir', dir, '--no-backup'])
      assert.equal(again.code, 0, JSON.stringify(again.json))
      assert.deepEqual(await accepted(dir), ['00'.repeat(32), ...payloads(3)])
      assert.deepEqual(
        (await readdir(root)).filter((f) => f.startsWith('killed-early.')),
        [],
      )
    })
  })
})
