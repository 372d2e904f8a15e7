// Crash consistency: a process writing to the chain is SIGKILLed at a seeded random moment, then
// the data dir is checked as a user would find it: it opens without repair, `tsvm check` passes,
// everything the process acknowledged before dying is there, and nothing is half-written or
// duplicated. Two writers: bulk `tsvm propose -` runs, and a JSON-RPC server under a
// proposeBlock load (where the acknowledgement is the HTTP reply with Success:true).
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {Agent, request} from 'node:http'

import {hexEncode, toHex} from '../../src/vm/encoding.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {BIN, ROOT, tsvm} from '../helpers/cli.js'
import {between} from './random.js'
import {startServeChild} from './target.js'

/** A unique payload: sha256 of a tag and a counter, so every payload of a run is distinct. */
export function payloadOf(tag: string, n: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`${tag}/${n}`).digest())
}

/** What a data dir holds after a crash, read through the VM itself. */
export interface Contents {
  /** Payloads of accepted blocks, height 1 upwards. */
  accepted: string[]
  /** Queued payloads, oldest first. */
  mempool: string[]
}

/**
 * Runs `tsvm check` on `dir` (must exit 0) and reads the accepted payloads and the mempool. A dir
 * that holds no chain yet (never created, or killed before the genesis was written) holds nothing.
 */
export async function inspect(dir: string): Promise<Contents> {
  const check = await tsvm(['check', '--data-dir', dir, '--json'])
  const problems = (JSON.parse(check.stdout || '{}') as {error?: {code?: string; problems?: Array<{kind: string}>}})
    .error
  if (problems?.code === 'NOT_INITIALIZED') return {accepted: [], mempool: []}
  if (problems?.code === 'CHAIN_CHECK_FAILED' && problems.problems?.every((p) => p.kind === 'not-initialized'))
    return {accepted: [], mempool: []}
  assert.equal(check.code, 0, `tsvm check failed after a kill (exit ${check.code}):\n${check.stdout}\n${check.stderr}`)
  const vm = await TimestampVM.open(dir)
  try {
    const accepted: string[] = []
    for await (const r of vm.acceptedBlocks()) if (r.block.height > 0n) accepted.push(toHex(r.block.data))
    accepted.reverse()
    return {accepted, mempool: vm.mempool().map((b) => toHex(b))}
  } finally {
    await vm.close()
  }
}

/** Asserts no payload is stored twice (in two blocks, twice in the mempool, or in both). */
export function assertNoDuplicates(c: Contents): void {
  const seen = new Set<string>()
  for (const p of [...c.accepted, ...c.mempool]) {
    assert.ok(!seen.has(p), `payload ${p} is stored twice`)
    seen.add(p)
  }
}

/** Counters a crash phase reports. */
export interface CrashStats {
  kills: number
  acknowledged: number
  lost: number
}

function killAfter(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/**
 * One round of bulk proposing: `tsvm propose - --json` runs one after another with a few hundred
 * to a few thousand payloads each, until the round's kill moment SIGKILLs whichever is running.
 * Runs that printed their result must have all their blocks on the chain; the killed run may
 * have queued or accepted a prefix of its payloads, in order, and nothing else.
 */
export async function proposeRound(
  dir: string,
  tag: string,
  next: () => number,
  stats: CrashStats,
  maxMs = 2500,
  known?: Contents,
): Promise<Contents> {
  const before = known ?? (await inspect(dir))
  const killAt = Date.now() + between(next, 50, maxMs)
  const done: string[][] = []
  let killed: string[] = []
  for (let run = 0; ; run++) {
    const payloads = Array.from({length: between(next, 1, 3000)}, (_, i) => toHex(payloadOf(`${tag}/${run}`, i)))
    const child = spawn(process.execPath, [BIN, 'propose', '-', '--data-dir', dir, '--json'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(payloads.join('\n') + '\n')
    const wait = killAt - Date.now()
    await killAfter(child, Math.max(0, wait))
    if (child.signalCode === 'SIGKILL') {
      killed = payloads
      // A result printed in full before the kill still counts as acknowledged.
      try {
        JSON.parse(out)
        done.push(payloads)
        killed = []
      } catch {
        // nothing (or a partial line) printed: not acknowledged
      }

      break
    }

    assert.equal(child.exitCode, 0, `tsvm propose exited ${child.exitCode}: ${out}`)
    const result = JSON.parse(out) as {blocks: unknown[]}
    done.push(payloads)
    assert.ok(result.blocks.length >= payloads.length, 'a finished run accepted all its payloads')
  }

  stats.kills++
  const after = await inspect(dir)
  assertNoDuplicates(after)
  // Everything from before the round is still there, in place.
  assert.deepEqual(after.accepted.slice(0, before.accepted.length), before.accepted)
  // Then what was queued before the round (built first), then every acknowledged payload in order.
  const added = [...after.accepted.slice(before.accepted.length), ...after.mempool]
  assert.deepEqual(
    added.slice(0, before.mempool.length),
    before.mempool,
    'payloads queued before the round moved or vanished',
  )
  const acknowledged = done.flat()
  stats.acknowledged += acknowledged.length
  const missing = acknowledged.filter((p, i) => added[before.mempool.length + i] !== p)
  stats.lost += missing.length
  assert.equal(
    missing.length,
    0,
    `${missing.length} acknowledged payloads missing or out of place, first ${missing[0]}`,
  )
  // The killed run left a prefix of its payloads, in order.
  const rest = added.slice(before.mempool.length + acknowledged.length)
  assert.deepEqual(
    rest,
    killed.slice(0, rest.length),
    'the killed run left something other than a prefix of its payloads',
  )
  return after
}

/** The moments of the pipelined group commit the server can be halted at (src/node/halt.ts). */
export const HALT_MOMENTS = ['joined', 'landed', 'started'] as const

/**
 * serveRound with the server killing itself while two groups are in flight: at a seeded moment
 * of HALT_MOMENTS, the seeded n-th time it comes (see src/node/halt.ts). Same checks.
 */
export function serveInFlightRound(
  dir: string,
  tag: string,
  next: () => number,
  stats: CrashStats,
  maxMs = 2000,
  known?: Contents,
): Promise<Contents> {
  const moment = HALT_MOMENTS[Math.floor(next() * HALT_MOMENTS.length)]!
  const halt = `${moment}:${between(next, 1, Math.max(2, Math.round(maxMs / 10)))}`
  return serveRound(dir, tag, next, stats, maxMs, known, halt)
}

/** How one proposeBlock came back. */
export type Answer = 'ok' | 'refused' | 'error' | 'unreachable'

/** proposeBlock over a keep-alive agent: ok (Success:true), refused (Success:false), error (JSON-RPC error) or unreachable. */
export function propose(agent: Agent, port: number, data: Uint8Array, id: number): Promise<Answer> {
  const body = JSON.stringify({jsonrpc: '2.0', method: 'timestampvm.proposeBlock', params: {data: hexEncode(data)}, id})
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/ext/bc/timestampvm',
        method: 'POST',
        agent,
        headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)},
      },
      (res) => {
        let text = ''
        res.on('data', (b: Buffer) => {
          text += b.toString()
        })
        res.on('end', () => {
          try {
            const reply = JSON.parse(text) as {result?: {Success?: boolean}; error?: unknown}
            resolve(reply.result?.Success === true ? 'ok' : reply.error === undefined ? 'refused' : 'error')
          } catch {
            resolve('unreachable')
          }
        })
        res.on('error', () => resolve('unreachable'))
      },
    )
    req.on('error', () => resolve('unreachable'))
    req.end(body)
  })
}

/** JSON-RPC proposeBlock over a keep-alive agent; resolves true only on a Success:true reply. */
export async function proposeOver(agent: Agent, port: number, data: Uint8Array, id: number): Promise<boolean> {
  return (await propose(agent, port, data, id)) === 'ok'
}

/**
 * One round of serving: a server on the data dir takes proposeBlock requests from `clients`
 * concurrent clients and is SIGKILLed at a random moment. Every payload answered Success:true
 * must be in an accepted block or in the mempool afterwards, once.
 */
export async function serveRound(
  dir: string,
  tag: string,
  next: () => number,
  stats: CrashStats,
  maxMs = 2000,
  known?: Contents,
  halt?: string,
): Promise<Contents> {
  const clients = 16
  const before = known ?? (await inspect(dir))
  const server = await startServeChild(dir, [], halt ? {TSVM_TEST_HALT_SERVE: halt} : {})
  const agent = new Agent({keepAlive: true, maxSockets: clients})
  const acked: string[] = []
  let sent = 0
  let stop = false
  const worker = async (w: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- set by the side that stops the run while this loop awaits
    for (let k = 0; !stop; k++) {
      const data = payloadOf(`${tag}/${w}`, k)
      sent++
      if (await proposeOver(agent, server.port, data, sent)) acked.push(toHex(data))
    }
  }

  const workers = Array.from({length: clients}, (_, w) => worker(w))
  if (halt === undefined) {
    await new Promise((r) => {
      setTimeout(r, between(next, 50, maxMs))
    })
    server.child.kill('SIGKILL')
    await server.exited
  } else {
    // The server kills itself at the hook's moment; a bound in case the load never reaches it.
    const bound = setTimeout(() => server.child.kill('SIGTERM'), 60_000)
    await server.exited
    clearTimeout(bound)
    assert.equal(server.child.signalCode, 'SIGKILL', `the server was not halted at ${halt}`)
  }

  stop = true
  await Promise.all(workers)
  agent.destroy()
  stats.kills++
  stats.acknowledged += acked.length
  const after = await inspect(dir)
  assertNoDuplicates(after)
  assert.deepEqual(after.accepted.slice(0, before.accepted.length), before.accepted)
  const stored = new Set([...after.accepted, ...after.mempool])
  const lost = acked.filter((p) => !stored.has(p))
  stats.lost += lost.length
  assert.equal(
    lost.length,
    0,
    `${lost.length} of ${acked.length} payloads answered Success:true are not stored, first ${lost[0]}`,
  )
  assert.ok(sent > 0)
  return after
}
