// Adopting a chain the Go VM wrote, through the real binary: a tsvm chain of a few thousand
// blocks (some rejected) with every tsvm-only key removed answers get-block, blocks, check and
// the JSON-RPC getBlock as the original does once adopted; a SIGKILL after any batch of the
// adoption (TSVM_ADOPT_HALT_AFTER, no timing involved) ends, after the next open, in the same
// keys; a damaged state is refused with exit 6 and nothing written.
import assert from 'node:assert/strict'
import {cp} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {decodeWrapper} from '../../src/vm/block.js'
import {idToString, toHex} from '../../src/vm/encoding.js'
import {genesisData} from '../../src/vm/genesis.js'
import {ADOPTING_KEY, blockKey, GENESIS_KEY, LAST_ACCEPTED_KEY} from '../../src/vm/state.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {assertShape} from '../helpers/json-schema.js'
import {buildChain, dump, payload, stripToGo, withDb} from '../helpers/go-state.js'
import {rpc} from '../helpers/http.js'
import {startServe} from '../helpers/serve.js'

const BLOCKS = 3000
const REJECTED = 5
const BATCH = 500
// The marker, the index writes (two per accepted block, one per rejected) in batches of at most
// 2 x BATCH, the final batch.
const TOTAL_BATCHES = 2 + Math.ceil((2 * (BLOCKS + 1) + REJECTED) / (2 * BATCH))

async function answers(dir: string): Promise<unknown> {
  const out: unknown[] = []
  for (const h of [0, 1, 1500, BLOCKS])
    out.push((await tsvmJson(['get-block', '--height', String(h), '--data-dir', dir])).json)
  out.push(
    (await tsvmJson(['blocks', '--limit', '50', '--from-height', '2000', '--data-dir', dir])).json,
    (await tsvmJson(['get-block', '--data', toHex(payload(0, 'rejected')), '--data-dir', dir])).json,
    (await tsvmJson(['check', '--data-dir', dir])).json,
  )
  return out
}

describe('tsvm adopt', () => {
  let root: string
  let cleanup: () => Promise<void>
  let tsvmDir: string
  let goDir: string
  let wanted: Map<string, string>
  let n = 0
  const copy = async (from = goDir) => {
    const to = join(root, `copy-${n++}`)
    await cp(from, to, {recursive: true})
    return to
  }

  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-adopt-cli-'))
    tsvmDir = join(root, 'tsvm')
    await buildChain(tsvmDir, BLOCKS, REJECTED)
    wanted = await dump(tsvmDir)
    // Go keeps no genesis bytes: adoption records the genesis block's padded data.
    wanted.set(toHex(GENESIS_KEY), toHex(genesisData(new TextEncoder().encode('e2e'))))
    goDir = await copy(tsvmDir)
    await stripToGo(goDir)
  })
  after(() => cleanup())

  /** What the CLI answers about a data dir. */

  it('an adopted Go state answers as the tsvm original; the report goes to stderr', async () => {
    const dir = await copy()
    const first = await tsvm(['get-block', '--height', '1500', '--data-dir', dir])
    assert.equal(first.code, 0, first.stderr)
    assert.match(
      first.stderr,
      new RegExp(
        `adopted the chain the Go VM left in .*: ${BLOCKS + 1} accepted blocks and ${REJECTED} rejected, last accepted height ${BLOCKS}, indexed in `,
      ),
    )
    assert.deepEqual(await answers(dir), await answers(tsvmDir))
    assert.deepEqual(await dump(dir), wanted)
    // Adopted once: the next command has nothing to adopt.
    const again = await tsvm(['last-accepted', '--data-dir', dir])
    assert.equal(again.stderr, '')
  })

  it('tsvm adopt reports and checks; getBlock over JSON-RPC answers as on the original', async () => {
    const dir = await copy()
    const r = await tsvmJson(['adopt', '--data-dir', dir])
    assert.equal(r.code, 0, r.stderr)
    assertShape(r.json, 'Adopt', 'tsvm adopt --json')
    assert.equal(r.json.adopted.blockCount, BLOCKS + 1)
    assert.equal(r.json.adopted.rejectedCount, REJECTED)
    assert.equal(r.json.adopted.resumed, false)
    assert.deepEqual(
      {ok: r.json.ok, blocks: r.json.blockCount, lastAcceptedHeight: r.json.lastAcceptedHeight},
      {ok: true, blocks: BLOCKS + 1 + REJECTED, lastAcceptedHeight: String(BLOCKS)},
    )
    const human = await tsvm(['adopt', '--data-dir', dir])
    assert.match(human.stdout, /nothing to adopt/)
    assert.match(human.stdout, new RegExp(`ok: ${BLOCKS + 1 + REJECTED} blocks, last accepted height ${BLOCKS}`))

    const ids = await withDb(dir, async (db) => {
      const tip = (await db.get(LAST_ACCEPTED_KEY))!
      const parent = decodeWrapper((await db.get(blockKey(tip)))!).block.parentId
      return [tip, parent].map((id) => idToString(id))
    })
    const bodies: string[][] = []
    for (const d of [tsvmDir, dir]) {
      const serve = await startServe(['--data-dir', d])
      try {
        const path = new URL(serve.info.endpoints.chain).pathname
        const got: string[] = []
        for (const id of [undefined, ...ids]) {
          const params = id === undefined ? {} : {id}
          got.push(
            (
              await rpc(
                serve.info.port,
                path,
                JSON.stringify({jsonrpc: '2.0', id: 1, method: 'timestampvm.getBlock', params}),
              )
            ).body,
          )
        }

        bodies.push(got)
      } finally {
        await serve.stop()
      }
    }

    assert.deepEqual(bodies[1], bodies[0])
    assert.match(bodies[0]![0]!, /"timestamp"/)
  })

  it('init --genesis matches an adopted chain by its padded genesis data', async () => {
    const dir = await copy()
    const same = await tsvmJson(['init', '--genesis', 'e2e', '--data-dir', dir])
    assert.equal(same.code, 0, same.stderr)
    assert.equal(same.json.created, false)
    const other = await tsvmJson(['init', '--genesis', 'other', '--data-dir', dir])
    assert.equal(other.json.error.code, 'GENESIS_MISMATCH')
    assert.equal(other.code, 4)
  })

  it('a SIGKILL after any batch ends, after the next open, in the same keys', async () => {
    const env = {TSVM_ADOPT_BATCH: String(BATCH)}
    for (let halt = 1; halt <= TOTAL_BATCHES; halt++) {
      const dir = await copy()
      const killed = await tsvm(['adopt', '--data-dir', dir], {env: {...env, TSVM_ADOPT_HALT_AFTER: String(halt)}})
      assert.equal(killed.code, 128, `halt after batch ${halt}: ${killed.stderr}`)
      const left = await dump(dir)
      assert.equal(left.has(toHex(ADOPTING_KEY)), halt < TOTAL_BATCHES, `marker after batch ${halt}`)
      // The next open finishes it: tsvm adopt, or any command (check here, whose note goes to stderr).
      if (halt % 2 === 0) {
        const next = await tsvmJson(['adopt', '--data-dir', dir], {env})
        assert.equal(next.code, 0, next.stderr)
        assert.equal(next.json.adopted?.resumed ?? false, halt < TOTAL_BATCHES)
      } else {
        const next = await tsvm(['check', '--data-dir', dir], {env})
        assert.equal(next.code, 0, next.stderr)
        assert.equal(/finished adopting/.test(next.stderr), halt < TOTAL_BATCHES, next.stderr)
      }

      assert.deepEqual(await dump(dir), wanted, `after a kill after batch ${halt}`)
    }
  })

  it('a damaged Go state is refused with exit 6, the height and ID, and nothing written', async () => {
    const dir = await copy()
    const gone = await withDb(dir, async (db) => {
      const tip = (await db.get(LAST_ACCEPTED_KEY))!
      const {block} = decodeWrapper((await db.get(blockKey(tip)))!)
      await db.del(blockKey(block.parentId))
      return block
    })
    const before = await dump(dir)
    for (const args of [['adopt'], ['get-block', '--height', '1'], ['check']]) {
      const r = await tsvmJson([...args, '--data-dir', dir])
      assert.equal(r.code, 6, `${args[0]}: ${r.stderr}`)
      assert.equal(r.json.error.code, 'ADOPT_FAILED')
      assert.equal(r.json.error.height, String(BLOCKS))
      assert.equal(r.json.error.id, idToString(gone.id))
    }

    assert.deepEqual(await dump(dir), before)
  })

  it('a data dir without a chain has nothing to adopt', async () => {
    const r = await tsvmJson(['adopt', '--data-dir', join(root, 'empty')])
    assert.equal(r.json.error.code, 'NOT_INITIALIZED')
    assert.equal(r.code, 3)
  })
})
