// Several validators: three plugin processes, each with its own rpcdb, driven by the node-side
// harness as Snowman consensus drives a subnet's validators. Each round one validator builds a
// block (proposeBlock over HandleSimple → WaitForEvent → BuildBlock → BlockVerify →
// SetPreference), the others receive it (ParseBlock, BlockVerify), and all
// decide (SetPreference, BlockAccept). Every few rounds two validators build competing blocks, one
// a branch of two, and consensus takes one side: the winner is accepted everywhere, the other side
// rejected (siblings, then descendants, as the node orders it). Mid-run one validator is killed
// with SIGKILL after it verified a fork and before the decision; it is restarted on its rpcdb
// later, bootstraps what it missed through GetAncestors from the others (paged, as the node
// fetches), executes it in height order, and rejoins. At the end all three must answer alike:
// last accepted block, height, GetBlockIDAtHeight at every height, and getBlock over HandleSimple.
//
// Deterministic: every step waits for its reply before the next, so the order of calls is fixed
// and nothing depends on timing (WaitForEvent is called with a non-empty mempool and returns at once).
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {State, VmMessage, VmService} from '../../src/plugin/messages.js'
import {idToString} from '../../src/vm/encoding.js'
import {encodeWith} from '../../src/vm/formatting.js'
import {MemoryDb, type NodeBlock, type NodeChain, type PluginProcess, startChain} from './harness.js'

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const GENESIS = new TextEncoder().encode('three validators')

/** Rounds in all; every FORK_EVERY-th is a fork; C is killed at KILL_AT and restarted at RESTART_AT. */
const ROUNDS = 180
const FORK_EVERY = 8
const KILL_AT = 72
const RESTART_AT = 120
/** GetAncestors page size while C bootstraps (the node asks for up to 2000; small pages make several requests). */
const PAGE = 16

interface Validator {
  name: string
  db: MemoryDb
  plugin: PluginProcess
  chain: NodeChain
  live: boolean
}

function payload(round: number, branch: number): Uint8Array {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(24, round)
  new DataView(d.buffer).setUint32(28, branch)
  return d
}

async function start(name: string, db: MemoryDb): Promise<{v: Validator; last: NodeBlock}> {
  const {plugin, chain, last} = await startChain({db, genesis: GENESIS})
  return {v: {name, db, plugin, chain, live: true}, last}
}

/** Chain creation as the node runs it: SetState(bootstrapping), SetPreference(last), SetState(normal). */
async function normalOp(v: Validator, last: NodeBlock): Promise<void> {
  await v.chain.setState(State.BOOTSTRAPPING)
  await v.chain.setPreference(last.id)
  await v.chain.setState(State.NORMAL_OP)
}

/** The builder's side: a proposal over the API wakes WaitForEvent, then build, verify, prefer. */
async function build(v: Validator, data: Uint8Array): Promise<NodeBlock> {
  const r = await v.chain.rpc('timestampvm.proposeBlock', {data: encodeWith('hex', data)})
  assert.equal((JSON.parse(r.body) as {result?: {Success: boolean}}).result?.Success, true, `${v.name}: ${r.body}`)
  assert.equal((await v.chain.vm.call(VmService.WaitForEvent, {})).message, VmMessage.BUILD_BLOCK)
  const blk = await v.chain.buildBlock()
  assert.equal(hex(blk.bytes.subarray(50)), hex(data), `${v.name} built another payload`)
  assert.equal(await v.chain.verify(blk.bytes), blk.timestamp)
  await v.chain.setPreference(blk.id)
  return blk
}

/** A peer's block arriving: ParseBlock, then BlockVerify (the parent is in the node's cache: no GetBlock). */
async function receive(v: Validator, blk: NodeBlock): Promise<void> {
  const parsed = await v.chain.parseBlock(blk.bytes)
  assert.equal(hex(parsed.id), hex(blk.id), `${v.name}: ParseBlock gave another ID`)
  assert.equal(hex(parsed.parentId), hex(blk.parentId))
  assert.equal(await v.chain.verify(blk.bytes), blk.timestamp, `${v.name}: BlockVerify time`)
}

/** The decision: prefer the tip of the accepted side, accept it bottom up, then reject the other side. */
async function decide(v: Validator, accepted: NodeBlock[], rejected: NodeBlock[]): Promise<void> {
  await v.chain.setPreference(accepted.at(-1)!.id)
  for (const b of accepted) await v.chain.accept(b.id)
  for (const b of rejected) await v.chain.reject(b.id)
}

describe('three validators driven as consensus', () => {
  const validators: Validator[] = []
  after(async () => {
    for (const v of validators) if (v.live) await v.chain.stop()
  })

  it('agree on every block after hundreds of rounds with forks, a SIGKILL mid-run and a bootstrap through GetAncestors', async () => {
    const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((n) => start(n, new MemoryDb())))
    validators.push(a!.v, b!.v, c!.v)
    for (const {v, last} of [a!, b!, c!]) await normalOp(v, last)
    const genesisId = hex(a!.last.id)
    assert.equal(hex(b!.last.id), genesisId)
    assert.equal(hex(c!.last.id), genesisId)
    const [A, B, C] = validators as [Validator, Validator, Validator]

    let tip = a!.last
    const accepted: NodeBlock[] = [tip]
    const rejected: NodeBlock[] = []
    /** The blocks C held undecided when it was killed, and C's tip then. */
    let killedHolding: NodeBlock[] = []
    let killedAtHeight = -1n

    for (let round = 1; round <= ROUNDS; round++) {
      const live = validators.filter((v) => v.live)
      const proposer = live[round % live.length]!
      if (round % FORK_EVERY === 0) {
        // Two proposers build at the same height; the second builds a branch of two.
        const other = live[(round + 1) % live.length]!
        const x = await build(proposer, payload(round, 1))
        const y = await build(other, payload(round, 2))
        const y2 = await build(other, payload(round, 3))
        assert.equal(hex(y2.parentId), hex(y.id))
        for (const v of live) {
          if (v !== proposer) await receive(v, x)
          if (v !== other) {
            await receive(v, y)
            await receive(v, y2)
          }
        }

        if (round === KILL_AT) {
          assert.ok(C.live)
          killedHolding = [x, y, y2]
          killedAtHeight = tip.height
          await C.chain.kill()
          C.live = false
        }

        // Consensus alternates sides: x alone, or the branch y, y2.
        const xWins = (round / FORK_EVERY) % 2 === 0
        const [win, lose] = xWins ? [[x], [y, y2]] : [[y, y2], [x]]
        for (const v of validators.filter((w) => w.live)) await decide(v, win, lose)
        accepted.push(...win)
        rejected.push(...lose)
        tip = win.at(-1)!
      } else {
        const blk = await build(proposer, payload(round, 0))
        for (const v of live) if (v !== proposer) await receive(v, blk)
        for (const v of live) await decide(v, [blk], [])
        accepted.push(blk)
        tip = blk
      }

      if (round === RESTART_AT) {
        // C comes back on its rpcdb with the chain it had accepted before the kill.
        const restarted = await start('C', C.db)
        Object.assign(C, restarted.v)
        assert.equal(restarted.last.height, killedAtHeight)
        await C.chain.setState(State.BOOTSTRAPPING)
        // Fetch from the frontier back to what C has, a page at a time from alternating peers.
        const fetched: NodeBlock[] = []
        let want = tip.id
        for (let page = 0; ; page++) {
          const peer = page % 2 === 0 ? A : B
          const r = await peer.chain.vm.call(VmService.GetAncestors, {
            blkId: want,
            maxBlocksNum: PAGE,
            maxBlocksSize: 2 << 20,
            maxBlocksRetrivalTime: 10_000_000_000n,
          })
          assert.ok(r.blksBytes.length > 0 && r.blksBytes.length <= PAGE)
          const parsed = (await C.chain.vm.call(VmService.BatchedParseBlock, {request: r.blksBytes})).response
          assert.equal(parsed.length, r.blksBytes.length)
          let reached = false
          for (const [i, p] of parsed.entries()) {
            if (p.height <= restarted.last.height) {
              reached = true
              break
            }

            fetched.push({
              id: p.id,
              parentId: p.parentId,
              height: p.height,
              timestamp: p.timestamp!.seconds,
              bytes: r.blksBytes[i]!,
            })
          }

          if (reached) break
          want = fetched.at(-1)!.parentId
        }

        assert.equal(BigInt(fetched.length), tip.height - killedAtHeight)
        // Execute in height order, as the bootstrapper does (no SetPreference, no BuildBlock).
        for (const blk of fetched.reverse()) {
          await C.chain.parseBlock(blk.bytes)
          await C.chain.verify(blk.bytes)
          await C.chain.accept(blk.id)
        }

        await C.chain.setPreference(tip.id)
        const now = await C.chain.setState(State.NORMAL_OP)
        assert.equal(hex(now.id), hex(tip.id))
        assert.equal(now.height, tip.height)
      }
    }

    assert.ok(accepted.length > 180, `${accepted.length} accepted blocks`)
    assert.ok(rejected.length > 30, `${rejected.length} rejected blocks`)

    // All three report the same last accepted block and height...
    const lasts = await Promise.all(validators.map((v) => v.chain.setState(State.NORMAL_OP)))
    for (const l of lasts) {
      assert.equal(hex(l.id), hex(tip.id))
      assert.equal(l.height, tip.height)
      assert.equal(hex(l.bytes), hex(tip.bytes))
    }

    // ...the same ID at every height, that of the block accepted there...
    const answers = await Promise.all(
      validators.map(async (v) => {
        const ids: string[] = []
        const replies: string[] = []
        // 32 heights at a time (the answers do not depend on the order of the calls).
        for (let from = 0n; from <= tip.height; from += 32n) {
          const heights = Array.from({length: 32}, (_, i) => from + BigInt(i)).filter((h) => h <= tip.height)
          const got = await Promise.all(
            heights.map(async (h) => {
              const id = await v.chain.idAtHeight(h)
              assert.ok(id, `${v.name}: no block at height ${h}`)
              return {id: hex(id), reply: (await v.chain.rpc('timestampvm.getBlock', {id: idToString(id)})).body}
            }),
          )
          for (const g of got) {
            ids.push(g.id)
            replies.push(g.reply)
          }
        }

        assert.equal(await v.chain.idAtHeight(tip.height + 1n), undefined)
        replies.push((await v.chain.rpc('timestampvm.getBlock', {})).body)
        return {ids, replies}
      }),
    )
    assert.deepEqual(
      answers[0]!.ids,
      accepted.map((blk) => hex(blk.id)),
    )
    for (const ans of answers.slice(1)) {
      assert.deepEqual(ans.ids, answers[0]!.ids)
      // ...and byte-identical getBlock replies over HandleSimple.
      assert.deepEqual(ans.replies, answers[0]!.replies)
    }

    const top = JSON.parse(answers[0]!.replies.at(-1)!) as {result: {id: string; height: string}}
    assert.deepEqual(top.result.id, idToString(tip.id))
    assert.equal(top.result.height, String(tip.height))

    // Rejected blocks stay findable where they were seen and are never indexed; the fork C held
    // when it was killed was decided by its bootstrap: one side accepted, the other rejected.
    for (const blk of rejected) {
      for (const v of [A, B]) assert.equal((await v.chain.getBlock(blk.id))?.height, blk.height)
      const there = await A.chain.idAtHeight(blk.height)
      assert.ok(there === undefined || hex(there) !== hex(blk.id), 'a rejected block is indexed')
    }

    // Of the fork C held undecided when it was killed, the winning side is accepted on C after its
    // bootstrap; the losing side, which C kept in memory only (as Go does) unless C built it, may
    // be forgotten or stored rejected, and is never indexed.
    for (const blk of killedHolding) {
      const onC = await C.chain.getBlock(blk.id)
      if (accepted.some((a) => hex(a.id) === hex(blk.id))) {
        assert.equal(onC?.height, blk.height, 'C lost a block accepted after the kill')
        assert.equal(hex((await C.chain.idAtHeight(blk.height))!), hex(blk.id))
      } else {
        const there = await C.chain.idAtHeight(blk.height)
        assert.ok(there === undefined || hex(there) !== hex(blk.id), 'a losing block is indexed on C')
      }
    }

    assert.ok(killedHolding.some((blk) => rejected.some((r) => hex(r.id) === hex(blk.id))))
  })
})
