// tsvm repair through the real binary: what it refuses (changing nothing) and where its backup
// goes. What it makes of each kind of damage is in test/reliability/corruption.test.ts.
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdir, readdir, unlink, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {defaultBackup} from '../../src/chain/repair.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {startServe} from '../helpers/serve.js'

describe('tsvm repair', () => {
  let root: string
  let cleanup: () => Promise<void>
  before(async () => ({dir: root, cleanup} = await tempDir('tsvm-repair-')))
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
    assert.deepEqual({ok: r.json.ok, blocks: r.json.blocks, lastAcceptedHeight: r.json.lastAcceptedHeight}, {ok: true, blocks: 4, lastAcceptedHeight: '3'})
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
      assert.deepEqual((await readdir(root)).filter((f) => f.startsWith('served.backup')), [])
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
})
