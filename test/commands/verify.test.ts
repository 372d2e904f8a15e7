// verify, info and upgrade through the real binary: what a receipt proves depends on the anchor
// the verifier names (a chain, or a trusted checkpoint ID), never on the receipt alone.
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {makeBlock} from '../../src/vm/block.js'
import {idFromString, idToString, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {startServe} from '../helpers/serve.js'

let dir: string
let cleanup: () => Promise<void>
/** The chain everything is stamped on, in a data dir the tests name. */
const chain = () => join(dir, 'chain')
const onChain = () => ({cwd: dir, env: {TSVM_DATA_DIR: chain()}})
const plain = () => ({cwd: dir})
const readJson = async (f: string) => JSON.parse(await readFile(join(dir, f), 'utf8'))
const writeJson = (f: string, j: unknown) => writeFile(join(dir, f), JSON.stringify(j, null, 2))

before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-verify-cli-'))
  await writeFile(join(dir, 'a.txt'), 'alpha\n')
  await writeFile(join(dir, 'b.txt'), 'beta\n')
  await writeFile(join(dir, 'c.txt'), 'gamma\n')
  for (const args of [['a.txt'], ['b.txt', 'c.txt'], ['c.txt', '--out', 'pending', '--no-wait']]) {
    const r = await tsvm(['stamp', ...args], onChain())
    assert.equal(r.code, 0, r.stderr)
  }
})
after(() => cleanup())

/** A receipt for `file` whose block was made up by hand: consistent with itself, on no chain. */
async function forge(file: string, genesisID: string): Promise<Record<string, unknown>> {
  const item = sha256(await readFile(join(dir, file)))
  const block = makeBlock({parentId: idFromString(genesisID), height: 1n, timestamp: 631_152_000n, data: item})
  return {
    format: 'tsvm-receipt',
    version: 2,
    item: {hash: toHex(item), name: file},
    merkle: null,
    payload: toHex(item),
    block: {
      id: idToString(block.id),
      bytes: toHex(block.bytes),
      height: '1',
      timestamp: '631152000',
      time: '1990-01-01T00:00:00.000Z',
    },
    chain: {kind: 'embedded', location: chain(), genesisID},
    status: 'complete',
    createdAt: '1990-01-01T00:00:00.000Z',
  }
}

describe('tsvm verify: the trust model', () => {
  it('without a chain or a trusted ID a receipt is only consistent: exit 3, UNANCHORED, never "verified"', async () => {
    const r = await tsvm(['verify', 'a.txt'], plain())
    assert.equal(r.code, 3)
    assert.equal(r.stdout, '')
    assert.match(
      r.stderr,
      /^Error: a\.txt: consistent with itself; NOT checked against any chain: pass --endpoint, --data-dir or --trust \[UNANCHORED\]\n$/,
    )
    assert.doesNotMatch(r.stderr, /verified|existed/)
    const j = await tsvmJson(['verify', 'b.txt'], plain())
    assert.equal(j.code, 3)
    assert.equal(j.json.error.code, 'UNANCHORED')
    assert.equal(j.json.error.result.trust, 'unanchored')
    assert.equal(j.json.error.result.status, 'consistent')
    assert.equal(j.json.error.result.existedBy, null)
  })

  it('a self-consistent forged receipt is not verified offline, and is refused against the chain', async () => {
    const {genesisID} = (await readJson('a.txt.tsvm')).chain
    await writeJson('forged.tsvm', await forge('a.txt', genesisID))
    const offline = await tsvmJson(['verify', 'a.txt', '--receipt', 'forged.tsvm'], plain())
    assert.equal(offline.code, 3)
    assert.equal(offline.json.error.code, 'UNANCHORED')
    assert.equal(offline.json.error.result.trust, 'unanchored')
    const online = await tsvmJson(['verify', 'a.txt', '--receipt', 'forged.tsvm', '--data-dir', chain()], plain())
    assert.equal(online.code, 3)
    assert.equal(online.json.error.code, 'BLOCK_NOT_FOUND')
    assert.equal(online.json.error.result.trust, 'unanchored')
    // trusting the forged block's own ID is the verifier's choice, and says so
    const own = await tsvmJson(
      ['verify', 'a.txt', '--receipt', 'forged.tsvm', '--trust', (await readJson('forged.tsvm')).block.id],
      plain(),
    )
    assert.equal(own.code, 0)
    assert.equal(own.json.trust, 'anchored-checkpoint')
  })

  it('anchored on a chain named by --data-dir or TSVM_DATA_DIR: exit 0, trust anchored-chain', async () => {
    const r = await tsvm(['verify', 'b.txt', '--data-dir', chain()], plain())
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stdout,
      /^verified b\.txt existed no later than \S+Z \(block \w+, height 2; accepted on .*chain\)\n$/,
    )
    const j = await tsvmJson(['verify', 'c.txt'], onChain())
    assert.equal(j.code, 0)
    assert.equal(j.json.status, 'verified')
    assert.equal(j.json.trust, 'anchored-chain')
    assert.equal(j.json.checkedOn, chain())
    assert.equal(j.json.version, 2)
    assert.deepEqual(j.json.uncommitted, ['item.name', 'chain.location', 'createdAt'])
  })

  it('a named chain that does not exist is NOT_INITIALIZED, never a fall-back to offline, and is not created', async () => {
    const nowhere = join(dir, 'no-such-chain')
    for (const run of [
      () => tsvmJson(['verify', 'a.txt', '--data-dir', nowhere], plain()),
      () => tsvmJson(['verify', 'a.txt'], {cwd: dir, env: {TSVM_DATA_DIR: nowhere}}),
    ]) {
      const r = await run()
      assert.equal(r.code, 3)
      assert.equal(r.json.error.code, 'NOT_INITIALIZED')
    }

    assert.equal(existsSync(nowhere), false)
  })

  it('a chain with another genesis is CHAIN_MISMATCH (exit 4)', async () => {
    const other = join(dir, 'other-chain')
    assert.equal((await tsvm(['init', '--genesis', 'another', '--data-dir', other], plain())).code, 0)
    const r = await tsvmJson(['verify', 'a.txt', '--data-dir', other], plain())
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'CHAIN_MISMATCH')
    assert.match(r.json.error.message, /genesis/)
  })

  it('anchored offline by --trust once upgrade --checkpoint added the headers up to a later block', async () => {
    // two more blocks above a.txt's block (height 1), then a checkpoint at the tip
    assert.equal(
      (await tsvm(['propose', '-'], {...onChain(), input: `${'aa'.repeat(32)}\n${'bb'.repeat(32)}\n`})).code,
      0,
    )
    const up = await tsvmJson(['upgrade', 'a.txt.tsvm', '--checkpoint', 'last'], onChain())
    assert.equal(up.code, 0, JSON.stringify(up.json))
    const [u] = up.json.receipts
    assert.equal(u.status, 'upgraded')
    const checkpoint = u.checkpoint.id
    assert.equal(u.headerCount, Number(u.checkpoint.height) - 1)
    assert.equal((await readJson('a.txt.tsvm')).headers.length, u.headerCount)

    const v = await tsvm(['verify', 'a.txt', '--trust', checkpoint], plain())
    assert.equal(v.code, 0, v.stderr)
    assert.match(
      v.stdout,
      new RegExp(
        `^verified a\\.txt existed no later than \\S+ \\(block \\w+, height 1; linked to trusted block ${checkpoint} at height ${u.checkpoint.height}\\)\\n$`,
      ),
    )
    const j = await tsvmJson(
      ['verify', 'a.txt', '--trust', idToString(sha256(Uint8Array.of(1))), '--trust', checkpoint],
      plain(),
    )
    assert.equal(j.json.trust, 'anchored-checkpoint')
    assert.deepEqual(j.json.checkpoint, {...u.checkpoint, status: null})

    // an ID the receipt does not link to anchors nothing
    const wrong = await tsvmJson(['verify', 'a.txt', '--trust', idToString(sha256(Uint8Array.of(1)))], plain())
    assert.equal(wrong.code, 3)
    assert.equal(wrong.json.error.code, 'UNANCHORED')
    assert.equal(wrong.json.error.result.check, 'anchor')
    // a header changed by hand breaks the link: invalid, not anchored
    const j2 = await readJson('a.txt.tsvm')
    j2.headers[0] = j2.headers[0].slice(0, 100) + (j2.headers[0][100] === '0' ? '1' : '0') + j2.headers[0].slice(101)
    await writeJson('bad-headers.tsvm', j2)
    const bad = await tsvmJson(['verify', 'a.txt', '--receipt', 'bad-headers.tsvm', '--trust', checkpoint], plain())
    assert.equal(bad.code, 4)
    assert.equal(bad.json.error.result.check, 'headers')
    // the upgraded receipt still verifies on the chain
    assert.equal((await tsvm(['verify', 'a.txt'], onChain())).code, 0)
  })

  it('a relabelled Merkle position is refused (version 2)', async () => {
    const j = await readJson('c.txt.tsvm')
    assert.deepEqual([j.merkle.index, j.merkle.leaves], [1, 2])
    // leaf 1 of 2 has the sides of leaf 2 of 3: only the committed position tells them apart
    await writeJson('relabelled.tsvm', {...j, merkle: {...j.merkle, index: 2, leaves: 3}})
    const r = await tsvmJson(['verify', 'c.txt', '--receipt', 'relabelled.tsvm'], onChain())
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'PROOF_INVALID')
    assert.equal(r.json.error.result.check, 'merkle.path')
  })

  it('duplicate keys are RECEIPT_INVALID', async () => {
    const text = await readFile(join(dir, 'b.txt.tsvm'), 'utf8')
    await writeFile(join(dir, 'dup.tsvm'), text.replace('"status":', '"status": "pending",\n  "status":'))
    const r = await tsvmJson(['verify', 'b.txt', '--receipt', 'dup.tsvm'], onChain())
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'RECEIPT_INVALID')
    assert.equal(r.json.error.field, 'status')
  })

  it('names the file given, not item.name, and neutralises control characters from the receipt', async () => {
    const j = await readJson('b.txt.tsvm')
    const evil = '\u001B]0;pwned\u0007\u001B[2K\rverified contract.pdf\u202E'
    await writeJson('evil.tsvm', {...j, item: {...j.item, name: evil}, chain: {...j.chain, location: `x\u001B[31m`}})
    const v = await tsvm(['verify', 'b.txt', '--receipt', 'evil.tsvm'], onChain())
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, /^verified b\.txt existed/)
    assert.doesNotMatch(v.stdout, /contract\.pdf|\u001B/)
    const i = await tsvm(['info', 'evil.tsvm'], plain())
    assert.equal(i.code, 0, i.stderr)
    assert.doesNotMatch(i.stdout, /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202E]/)
    assert.match(
      i.stdout,
      /name +\\x1b\]0;pwned\\x07\\x1b\[2K\\x0dverified contract\.pdf\\u\{202e\} +\(the receipt's word: not covered by the proof\)/,
    )
    assert.match(i.stdout, /chain +embedded x\\x1b\[31m/)
    // a key from the file, in an error message
    await writeFile(join(dir, 'evil-key.tsvm'), JSON.stringify({...j, '\u001B[2Jx': 1}))
    const k = await tsvm(['verify', 'b.txt', '--receipt', 'evil-key.tsvm'], onChain())
    assert.equal(k.code, 4)
    assert.doesNotMatch(k.stderr, /\u001B/)
    assert.match(k.stderr, /receipt field \\x1b\[2Jx: unknown field/)
  })

  it('pending and missing receipts exit 3; a receipt passed as the item gets a hint', async () => {
    const p = await tsvmJson(['verify', 'c.txt', '--receipt', 'pending/c.txt.tsvm'], plain())
    assert.equal(p.code, 3)
    assert.equal(p.json.error.code, 'PENDING')
    const m = await tsvmJson(['verify', 'c.txt', '--receipt', 'missing.tsvm'], plain())
    assert.equal(m.code, 3)
    assert.equal(m.json.error.code, 'FILE_NOT_FOUND')
    const r = await tsvmJson(['verify', 'a.txt.tsvm'], plain())
    assert.equal(r.code, 2)
    assert.match(r.json.error.message, /a\.txt\.tsvm is a receipt: pass the item it is about \(tsvm verify a\.txt\)/)
  })
})

describe('tsvm verify against a node (tsvm serve)', () => {
  it('stamps through the endpoint, records the chain ID, and is anchored there; another chain ID is refused', async () => {
    const data = join(dir, 'served')
    const serve = await startServe(['--data-dir', data])
    try {
      const endpoint = serve.info.endpoints.chain
      await writeFile(join(dir, 'd.txt'), 'delta\n')
      const s = await tsvmJson(['stamp', 'd.txt', '--endpoint', endpoint, '--timeout', '30'], plain())
      assert.equal(s.code, 0, s.stderr)
      const receipt = await readJson('d.txt.tsvm')
      assert.equal(receipt.chain.kind, 'remote')
      assert.equal(receipt.chain.chainID, serve.info.chainID)
      const v = await tsvmJson(['verify', 'd.txt', '--endpoint', endpoint], plain())
      assert.equal(v.code, 0, JSON.stringify(v.json))
      assert.equal(v.json.trust, 'anchored-chain')
      assert.equal(v.json.checkedOn, endpoint)
      // the alias reaches the same chain (its ID cannot be asked there, so the block decides)
      const alias = await tsvmJson(['verify', 'd.txt'], {
        cwd: dir,
        env: {TSVM_ENDPOINT: serve.info.endpoints.chainAlias},
      })
      assert.equal(alias.code, 0, JSON.stringify(alias.json))
      // the same receipt claiming another chain ID
      await writeJson('d-other.tsvm', {
        ...receipt,
        chain: {...receipt.chain, chainID: idToString(sha256(Uint8Array.of(7)))},
      })
      const other = await tsvmJson(['verify', 'd.txt', '--receipt', 'd-other.tsvm', '--endpoint', endpoint], plain())
      assert.equal(other.code, 4)
      assert.equal(other.json.error.code, 'CHAIN_MISMATCH')
    } finally {
      assert.equal(await serve.stop(), 0)
    }
  })
})

describe('tsvm upgrade: an endpoint from a receipt is not contacted on its own', () => {
  it('requires --endpoint (or TSVM_ENDPOINT) for a pending receipt that names an endpoint', async () => {
    let requests = 0
    const server = createServer((_req, res) => {
      requests++
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ext/bc/timestampvm`
      const pending = await readJson('pending/c.txt.tsvm')
      await writeJson('remote-pending.tsvm', {...pending, chain: {kind: 'remote', location: url}})
      const r = await tsvmJson(['upgrade', 'remote-pending.tsvm'], plain())
      assert.equal(r.code, 2)
      assert.equal(r.json.error.code, 'USAGE')
      assert.ok(r.json.error.message.includes(`pass --endpoint ${url}`), r.json.error.message)
      assert.equal(requests, 0, 'the endpoint named by the receipt was not contacted')
      // named by the user, it is asked
      const asked = await tsvmJson(['upgrade', 'remote-pending.tsvm', '--endpoint', url], plain())
      assert.equal(asked.code, 5)
      assert.ok(requests > 0)
    } finally {
      await new Promise((resolve) => {
        server.close(resolve)
      })
    }
  })
})

describe('tsvm info', () => {
  it('says consistent (never verified), marks what the proof does not cover, and points from an item to its receipt', async () => {
    const r = await tsvm(['info', 'c.txt.tsvm'], plain())
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /version +2/)
    assert.match(r.stdout, /merkle +leaf 1 of 2, path of 1\n/)
    assert.match(r.stdout, /createdAt +\S+ +\(the receipt's word: not covered by the proof\)/)
    assert.match(
      r.stdout,
      /check +consistent with itself; the item was not read and NOTHING was checked against a chain/,
    )
    assert.doesNotMatch(r.stdout, /verified/)
    const j = await tsvmJson(['info', 'c.txt.tsvm'], plain())
    assert.equal(j.json.check.status, 'consistent')
    assert.equal(j.json.check.trust, 'unanchored')
    assert.equal(j.json.contents.format, 'tsvm-receipt')
    const item = await tsvmJson(['info', 'b.txt'], plain())
    assert.equal(item.code, 4)
    assert.match(item.json.error.message, /b\.txt is not a receipt, but the item of b\.txt\.tsvm: pass b\.txt\.tsvm/)
    const missing = await tsvm(['info', 'nope.tsvm'], plain())
    assert.equal(missing.code, 3)
    assert.doesNotMatch(missing.stderr, /--receipt/)
  })
})
