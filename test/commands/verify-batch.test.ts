// Batch verify through the real binary: many items, directories and '-' in one process, receipts
// found beside files or under stamp's --out, files without receipts and receipts without files
// reported, and the exit code the worst of the items'.
import assert from 'node:assert/strict'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

let dir: string
let cleanup: () => Promise<void>
const chain = () => join(dir, 'chain')
const onChain = (input?: string) => ({cwd: dir, env: {TSVM_DATA_DIR: chain()}, ...(input === undefined ? {} : {input})})

/** Writes `n` small files under dir/<name>, in subdirectories of 100. */
async function tree(name: string, n: number): Promise<string[]> {
  const files: string[] = []
  for (let i = 0; i < n; i++) {
    const sub = join(name, `d${Math.floor(i / 100)}`)
    if (i % 100 === 0) await mkdir(join(dir, sub), {recursive: true})
    const f = join(sub, `f${i}.txt`)
    await writeFile(join(dir, f), `file ${name} ${i}\n`)
    files.push(f)
  }

  return files
}

before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-verify-batch-'))
})
after(() => cleanup())

describe('tsvm verify of many items', () => {
  it('a stamp --out tree of 1,200 files (helper threads): all verified, then each kind of tampering is named, exit 4', async () => {
    const files = await tree('build', 1200)
    const stamped = await tsvm(['stamp', 'build', '--out', 'proofs'], onChain())
    assert.equal(stamped.code, 0, stamped.stderr)

    const ok = await tsvmJson(['verify', 'build', '--out', 'proofs'], onChain())
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.json.results.length, 1200)
    assert.ok(ok.json.results.every((r: any) => r.status === 'verified' && r.trust === 'anchored-chain'))
    assert.deepEqual(
      [ok.json.summary.itemCount, ok.json.summary.verifiedCount, ok.json.summary.exitCode],
      [1200, 1200, 0],
    )
    assert.deepEqual(
      ok.json.results.map((r: any) => r.path),
      [...files].sort(),
    )

    // edit one file, delete one, add one, and change one receipt's height
    await writeFile(join(dir, files[3]!), 'changed\n')
    await rm(join(dir, files[4]!))
    await writeFile(join(dir, 'build', 'd0', 'injected.js'), 'new\n')
    const receipt = join(dir, 'proofs', files[5]! + '.tsvm')
    const r5 = JSON.parse(await readFile(receipt, 'utf8'))
    r5.block.height = '99'
    await writeFile(receipt, JSON.stringify(r5, null, 2))

    const bad = await tsvmJson(['verify', 'build', '--out', 'proofs'], onChain())
    assert.equal(bad.code, 4, bad.stderr)
    const by = (p: string) => bad.json.results.find((r: any) => r.path === p)
    assert.deepEqual(
      [by(files[3]!).status, by(files[3]!).error.code, by(files[3]!).check],
      ['invalid', 'PROOF_INVALID', 'item'],
    )
    assert.deepEqual(
      [by(files[4]!).status, by(files[4]!).error.code, by(files[4]!).check],
      ['missing', 'FILE_NOT_FOUND', 'item'],
    )
    const injected = by(join('build', 'd0', 'injected.js'))
    assert.deepEqual(
      [injected.status, injected.error.code, injected.check, injected.item],
      ['missing', 'FILE_NOT_FOUND', 'receipt', null],
    )
    assert.deepEqual([by(files[5]!).status, by(files[5]!).check], ['invalid', 'block.height'])
    const {summary} = bad.json
    assert.deepEqual(
      [summary.itemCount, summary.verifiedCount, summary.invalidCount, summary.missingCount, summary.exitCode],
      [1201, 1197, 2, 2, 4],
    )

    // the same run as text: one line per item on stdout, the counts on stderr
    const text = await tsvm(['verify', 'build', '--out', 'proofs'], onChain())
    assert.equal(text.code, 4)
    const lines = text.stdout.trim().split('\n')
    assert.equal(lines.length, 1201) // 1,199 files found, and the receipt of the deleted one
    assert.equal(lines.filter((l) => l.startsWith('verified  ')).length, 1197)
    assert.match(text.stdout, new RegExp(`^INVALID  ${files[3]!}: .*\\[PROOF_INVALID\\]$`, 'm'))
    assert.match(text.stdout, /^MISSING {2}build\/d0\/injected\.js: .*has no receipt/m)
    assert.match(text.stderr, /1201 items: 1197 verified \(accepted on .*\), 2 INVALID, 2 missing/)
  })

  it('receipts beside the files, - for a list on stdin, hashes, --glob; unanchored without a chain (exit 3)', async () => {
    await mkdir(join(dir, 'docs', 'sub'), {recursive: true})
    for (const f of ['a.pdf', 'b.txt', 'sub/c.pdf']) await writeFile(join(dir, 'docs', f), `doc ${f}\n`)
    assert.equal((await tsvm(['stamp', 'docs'], onChain())).code, 0)
    const hashes = await tsvmJson(
      ['stamp', '-', '--out', 'hashes'],
      onChain('ab'.repeat(32) + '\n' + 'cd'.repeat(32) + '\n'),
    )
    assert.equal(hashes.code, 0, hashes.stderr)

    const glob = await tsvmJson(['verify', 'docs', '--glob', '**/*.pdf'], onChain())
    assert.equal(glob.code, 0, glob.stderr)
    assert.deepEqual(
      glob.json.results.map((r: any) => r.path),
      [join('docs', 'a.pdf'), join('docs', 'sub', 'c.pdf')],
    )

    // '-': files and hashes, one per line (blank lines ignored); a name that is neither is reported
    const list = ['docs/b.txt', '', 'ab'.repeat(32), 'nope.txt'].join('\n') + '\n'
    const listed = await tsvmJson(['verify', '-', '--out', 'hashes'], onChain(list))
    assert.equal(listed.code, 3, listed.stderr)
    const [b, h, nope] = listed.json.results
    assert.deepEqual([b.path, b.status, b.error.code, b.check], ['docs/b.txt', 'missing', 'FILE_NOT_FOUND', 'receipt'])
    assert.deepEqual([h.item.hash, h.status, h.path, h.error], ['ab'.repeat(32), 'verified', null, null])
    assert.deepEqual([nope.status, nope.error.code, nope.path], ['missing', 'FILE_NOT_FOUND', 'nope.txt'])

    // without a chain: every item consistent, none verified: exit 3 (UNANCHORED), as for one item
    const offline = await tsvmJson(['verify', 'docs'], {cwd: dir})
    assert.equal(offline.code, 3)
    assert.ok(offline.json.results.every((r: any) => r.status === 'consistent' && r.error.code === 'UNANCHORED'))

    // a receipt whose file was deleted, beside the files
    await rm(join(dir, 'docs', 'a.pdf'))
    const gone = await tsvmJson(['verify', 'docs'], onChain())
    assert.equal(gone.code, 3)
    const a = gone.json.results.find((r: any) => r.path === join('docs', 'a.pdf'))
    // what its receipt states is kept: the item and the block it was stamped in
    assert.deepEqual([a.status, a.check, a.error.code], ['missing', 'item', 'FILE_NOT_FOUND'])
    assert.ok(a.item.hash.length === 64 && a.block.id.length > 0, JSON.stringify(a))
  })

  it('each entry has the fields of the single-item JSON; one item with --out keeps the single-item shape', async () => {
    await writeFile(join(dir, 'one.txt'), 'one\n')
    assert.equal((await tsvm(['stamp', 'one.txt', '--out', 'single'], onChain())).code, 0)
    const single = await tsvmJson(['verify', 'one.txt', '--out', 'single'], onChain())
    assert.equal(single.code, 0, single.stderr)
    assert.equal(single.json.status, 'verified')
    const batch = await tsvmJson(['verify', 'one.txt', 'one.txt', '--out', 'single'], onChain())
    assert.equal(batch.code, 0, batch.stderr)
    assert.equal(batch.json.results.length, 1, 'the same file named twice is checked once')
    assert.deepEqual(batch.json.results[0], single.json)
    // not verified (no chain): the entry is the error's result, with that error
    const alone = await tsvmJson(['verify', 'one.txt', '--out', 'single'], {cwd: dir})
    assert.equal(alone.code, 3)
    const many = await tsvmJson(['verify', 'one.txt', 'one.txt', '--out', 'single'], {cwd: dir})
    assert.equal(many.code, 3)
    assert.deepEqual(many.json.results[0], alone.json.error.result)
    assert.equal(batch.json.results[0].receipt, join(dir, 'single', 'one.txt.tsvm'))
  })

  it('--receipt names one receipt: refused for several items (exit 2); an empty directory is refused (exit 4)', async () => {
    const r = await tsvm(['verify', 'one.txt', 'docs', '--receipt', 'x.tsvm'], onChain())
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--receipt names the receipt of one item/)
    await mkdir(join(dir, 'empty'))
    const e = await tsvmJson(['verify', 'empty'], onChain())
    assert.deepEqual([e.code, e.json.error.code], [4, 'INVALID_ARGUMENT'])
  })
})
