// Repair against other openers: `tsvm repair` runs on a chain while other tsvm commands open the
// same dir over and over (readers and proposers), and some repairs are SIGKILLed at a seeded
// moment and then finished by the next `tsvm repair`. Every command either works on a whole chain
// or is refused with DB_LOCKED (the dir is in use) or REPAIR_INCOMPLETE (a killed repair), never
// anything else; afterwards `tsvm check` passes and the chain holds every block it held before
// and every payload a propose acknowledged, each once.
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {rm} from 'node:fs/promises'

import {toHex} from '../../src/vm/encoding.js'
import {BIN, ROOT, tsvm} from '../helpers/cli.js'
import {assertNoDuplicates, type Contents, inspect, payloadOf} from './crash.js'
import {between} from './random.js'

/** Counters of the repair-race phase. */
export interface RepairRaceStats {
  repairs: number
  /** Repairs refused because an opener had the dir when they started. */
  repairsRefused: number
  kills: number
  /** Runs of other commands while a repair ran. */
  openers: number
  /** Of those, refused: DB_LOCKED (the dir in use) and REPAIR_INCOMPLETE (a killed repair). */
  locked: number
  incomplete: number
  acknowledged: number
  lost: number
}

/** Waits for a child to end; SIGKILLs it after `killMs` when given. */
function ended(child: ChildProcess, killMs?: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = killMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killMs)
    child.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/**
 * One round on `dir` (which holds `known`): a repair (killed after a seeded delay when `kill`;
 * then finished by a second repair) while `openers` loops run other commands on the dir until
 * the repairs are over. Returns what the dir holds afterwards.
 */
export async function repairRaceRound(
  dir: string,
  tag: string,
  next: () => number,
  stats: RepairRaceStats,
  options: {kill: boolean; openers: number; backup?: string},
  known: Contents,
): Promise<Contents> {
  let repairing = true
  let n = 0
  const acknowledged: string[] = []
  const opener = async (id: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- cleared when the repair ends, while this loop awaits
    while (repairing) {
      const which = between(next, 0, 3)
      const payload = toHex(payloadOf(`${tag}/${id}`, n++))
      const args = [['last-accepted'], ['check'], ['blocks', '--limit', '3'], ['propose', payload]][which]!
      const r = await tsvm([...args, '--data-dir', dir, '--json'])
      stats.openers++
      if (r.code === 0) {
        if (args[0] === 'propose') acknowledged.push(payload)
        continue
      }

      let code: string | undefined
      try {
        code = (JSON.parse(r.stdout) as {error: {code: string}}).error.code
      } catch {
        code = undefined
      }

      assert.ok(
        code === 'DB_LOCKED' || code === 'REPAIR_INCOMPLETE',
        `tsvm ${args[0]} during a repair exited ${r.code}: ${r.stdout} ${r.stderr}`,
      )
      if (code === 'DB_LOCKED') stats.locked++
      else stats.incomplete++
    }
  }

  const repair = async (): Promise<void> => {
    // Until a repair succeeds: one may be refused (DB_LOCKED: an opener had the dir at that
    // moment) and is run again; a killed one is finished (or redone) by the next.
    let {kill} = options
    for (;;) {
      const args = [
        'repair',
        '--data-dir',
        dir,
        '--json',
        ...(options.backup && !existsSync(options.backup) ? ['--backup', options.backup] : ['--no-backup']),
      ]
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        env: {...process.env, NO_COLOR: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString()
      })
      child.stderr!.resume()
      stats.repairs++
      await ended(child, kill ? between(next, 50, 1200) : undefined)
      if (child.signalCode === 'SIGKILL') {
        stats.kills++
        kill = false
        continue
      }

      if (child.exitCode === 0) break
      let code: string | undefined
      try {
        code = (JSON.parse(out) as {error: {code: string}}).error.code
      } catch {
        code = undefined
      }

      assert.equal(code, 'DB_LOCKED', `tsvm repair exited ${child.exitCode}: ${out}`)
      stats.repairsRefused++
    }

    repairing = false
  }

  await Promise.all([repair(), ...Array.from({length: options.openers}, (_, i) => opener(i))])
  assert.equal(existsSync(`${dir}.repairing`), false, 'a repair marker was left behind')
  const after = await inspect(dir)
  assertNoDuplicates(after)
  assert.deepEqual(
    after.accepted.slice(0, known.accepted.length),
    known.accepted,
    'blocks accepted before the round changed or vanished',
  )
  const present = new Set(after.accepted)
  const missing = acknowledged.filter((p) => !present.has(p))
  stats.acknowledged += acknowledged.length
  stats.lost += missing.length
  assert.equal(
    missing.length,
    0,
    `${missing.length} acknowledged payloads missing after the repair, first ${missing[0]}`,
  )
  if (options.backup) await rm(options.backup, {recursive: true, force: true})
  return after
}
