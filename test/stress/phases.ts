// The phases of the stress run. Each gets a time budget and a seed, writes its figures into
// `summary`, and throws on the first broken guarantee.
import assert from 'node:assert/strict'

import fc from 'fast-check'

import {type FuzzTarget, PARSER_TARGETS} from '../reliability/fuzz-targets.js'
import {assertAlive, attacks, connectionStatuses, rssOf, slowClients} from '../reliability/hostile.js'
import {RECEIPT_TARGETS} from '../reliability/receipt-targets.js'
import {rpcTargets} from '../reliability/rpc-targets.js'
import {startTarget} from '../reliability/target.js'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {concurrentProposals, racingProposers} from '../reliability/concurrency.js'
import {type Contents, type CrashStats, proposeRound, serveInFlightRound, serveRound} from '../reliability/crash.js'
import {rng} from '../reliability/random.js'
import {diskFullEpisode, type DiskFullStats, diskFullSupport, mountSmallDisk} from '../reliability/disk-full.js'
import {repairRaceRound, type RepairRaceStats} from '../reliability/repair-race.js'
import {toHex} from '../../src/vm/encoding.js'
import {tsvm} from '../helpers/cli.js'
import {inspect, payloadOf} from '../reliability/crash.js'

/** Figures a phase reports, printed in the summary. */
export type Summary = Record<string, number | string>

export interface PhaseContext {
  seed: number
  budgetMs: number
  summary: Summary
  log(line: string): void
}

export interface Phase {
  name: string
  /** Relative share of the overall time budget. */
  share: number
  run(ctx: PhaseContext): Promise<void>
}

const RSS_LIMIT = 400 * 1024 * 1024

/** Runs one fuzz target for up to `ms` and `numRuns`; returns the cases run, throws with the seed on failure. */
async function fuzz(target: FuzzTarget, seed: number, numRuns: number, ms: number): Promise<number> {
  const property = target.property()
  const params = {seed, numRuns, interruptAfterTimeLimit: ms, markInterruptAsFailure: false}
  const details = property.isAsync()
    ? await fc.check(property as fc.IAsyncProperty<unknown>, params)
    : fc.check(property as fc.IProperty<unknown>, params)
  if (details.failed) {
    const shown = JSON.stringify(details.counterexample, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
    throw new Error(
      `${target.name}: failed with seed ${seed} path ${details.counterexamplePath}: ${shown?.slice(0, 500)}\n${(details.errorInstance as Error | null)?.message.slice(0, 2000)}`,
    )
  }

  return details.numRuns
}

const fuzzPhase: Phase = {
  name: 'fuzz',
  share: 2,
  async run({seed, budgetMs, summary, log}) {
    const rpc = rpcTargets()
    const targets = [...PARSER_TARGETS, ...RECEIPT_TARGETS, ...rpc.targets]
    const per = Math.floor(budgetMs / targets.length)
    let total = 0
    try {
      for (const [i, target] of targets.entries()) {
        const runs = await fuzz(target, seed + i, Math.ceil(1_000_000 / (target.cost ?? 1)), per)
        total += runs
        log(`${String(runs).padStart(8)}  ${target.name}`)
      }
    } finally {
      await rpc.close()
    }

    summary['fuzz cases'] = total
    summary.targets = targets.length
  },
}

const hostilePhase: Phase = {
  name: 'hostile',
  share: 2,
  async run({budgetMs, summary, log}) {
    const target = await startTarget()
    let requests = 0
    let peak = rssOf(target.pid)
    const sample = () => {
      peak = Math.max(peak, rssOf(target.pid))
    }

    try {
      for (const attack of attacks(5)) {
        requests += await attack.run(target.port)
        await assertAlive(target.port)
        sample()
        log(`ok  ${attack.name}`)
      }

      // Over the connection cap a connection gets 503, or beyond the cap and the connections
      // still being refused, a close: never a hang, never another status. The first ones are served.
      const statuses = await connectionStatuses(target.port, 2000)
      requests += 2000
      const [answered, busy, dropped] = [200, 503, 0].map((k) => statuses.get(k) ?? 0) as [number, number, number]
      assert.equal(
        answered + busy + dropped,
        2000,
        `statuses of 2000 simultaneous connections: ${JSON.stringify([...statuses])}`,
      )
      assert.ok(
        answered >= Math.min(2000, target.maxConnections),
        `only ${answered} of 2000 simultaneous connections answered 200`,
      )
      sample()
      log(
        `ok  2000 connections at once: ${answered} answered, ${busy} refused with 503, ${dropped} closed over the cap`,
      )
      // Slow clients: the server must keep answering, then drop them itself (header and request
      // timeouts, 10 s and 30 s), within the phase's budget.
      const slow = await slowClients(target.port, 200, 500)
      requests += 400
      try {
        for (let i = 0; i < 5; i++) await assertAlive(target.port)
        const limit = Date.now() + Math.min(90_000, budgetMs)
        while (slow.open() > 0 && Date.now() < limit) {
          await new Promise((r) => {
            setTimeout(r, 1000)
          })
        }

        const open = slow.open()
        assert.equal(
          open,
          0,
          `${open} of ${slow.sockets.length} slow connections still open after ${Math.round(Math.min(90_000, budgetMs) / 1000)} s`,
        )
        log('ok  400 slow clients dropped by the server')
      } finally {
        slow.stop()
      }

      await assertAlive(target.port)
      sample()
      assert.ok(peak < RSS_LIMIT, `server RSS peaked at ${peak} bytes`)
    } finally {
      await target.close()
    }

    summary['hostile requests'] = requests
    summary['peak RSS MiB'] = Math.round(peak / 1024 / 1024)
  },
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-stress-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

/**
 * Seeded SIGKILL rounds until `minKills` are done and the budget allows no more (or `maxKills`,
 * or twice the budget, whichever comes first). Every `perDir` kills start on a fresh data dir, so
 * the chain (and the check after each kill) stays small while each dir is killed repeatedly.
 */
function crashPhase(
  name: string,
  round: typeof proposeRound,
  minKills: number,
  maxKills: number,
  windowMs: number,
  perDir = 5,
): Phase {
  return {
    name,
    share: 3,
    async run({seed, budgetMs, summary, log}) {
      const stats: CrashStats = {kills: 0, acknowledged: 0, lost: 0}
      const next = rng(seed)
      const started = Date.now()
      const more = () =>
        stats.kills < maxKills &&
        Date.now() - started < 2 * budgetMs &&
        (stats.kills < minKills || Date.now() - started < budgetMs)
      let blocks = 0
      let dirs = 0
      try {
        while (more()) {
          dirs++
          await withDir(async (dir) => {
            let known: Contents | undefined
            for (let i = 0; i < perDir && more(); i++) {
              known = await round(dir, `${name}/${seed}/${dirs}/${i}`, next, stats, windowMs, known)
              if (stats.kills % 10 === 0)
                log(`${stats.kills} kills, ${stats.acknowledged} acknowledged payloads, ${stats.lost} lost`)
            }

            blocks += known?.accepted.length ?? 0
          })
        }
      } finally {
        summary.kills = stats.kills
        summary.acknowledged = stats.acknowledged
        summary['data dirs'] = dirs
        summary['blocks checked'] = blocks
        summary.lost = stats.lost
      }

      assert.ok(stats.kills >= minKills, `only ${stats.kills} of ${minKills} kills fitted in the time bound`)
    },
  }
}

const concurrencyPhase: Phase = {
  name: 'concurrency',
  share: 1,
  async run({seed, summary, log}) {
    await withDir(async (dir) => {
      const locked = await racingProposers(join(dir, 'race'), `race/${seed}`, 8, 800)
      summary['racing runs refused'] = locked
      log(`8 racing pairs: ${locked} runs refused with DB_LOCKED`)
      const acked = await concurrentProposals(join(dir, 'many'), `many/${seed}`, 5000, 100)
      summary['concurrent proposals acknowledged'] = acked
      log(`5000 proposals from 100 clients: ${acked} Success:true, each in exactly one block`)
    })
  },
}

/**
 * Disk-full episodes against a live serve, each on a fresh small tmpfs (see reliability/disk-full.ts):
 * fill, free, SIGTERM, restart; every acknowledged payload present and `tsvm check` passing.
 * Needs root to mount the tmpfs; elsewhere it is skipped and says why.
 */
const diskFullPhase: Phase = {
  name: 'disk-full',
  share: 1,
  async run({seed, budgetMs, summary, log}) {
    const unsupported = diskFullSupport()
    if (unsupported !== undefined) {
      log(`skipped: ${unsupported}`)
      summary.skipped = unsupported
      return
    }

    const stats: DiskFullStats = {
      acknowledged: 0,
      ackedWhileFull: 0,
      ackedAfterFreed: 0,
      failed: 0,
      unhealthy: 0,
      lost: 0,
      blocks: 0,
    }
    const started = Date.now()
    let episodes = 0
    try {
      while (episodes < 2 || Date.now() - started < budgetMs) {
        const mountPoint = await mkdtemp(join(tmpdir(), 'tsvm-stress-full-'))
        const disk = mountSmallDisk(mountPoint, 8)
        try {
          const round: DiskFullStats = {
            acknowledged: 0,
            ackedWhileFull: 0,
            ackedAfterFreed: 0,
            failed: 0,
            unhealthy: 0,
            lost: 0,
            blocks: 0,
          }
          try {
            await diskFullEpisode(disk, {tag: `full/${seed}/${episodes}`, clients: 16, warmup: 500, after: 2000}, round)
          } finally {
            for (const k of Object.keys(stats) as Array<keyof DiskFullStats>) stats[k] += round[k]
          }

          episodes++
          log(
            `episode ${episodes}: ${round.acknowledged} acknowledged (${round.ackedAfterFreed} after freeing), ${round.failed} refused while full, ${round.blocks} blocks after restart, ${round.lost} lost`,
          )
        } finally {
          disk.unmount()
          await rm(mountPoint, {recursive: true, force: true})
        }
      }
    } finally {
      summary.episodes = episodes
      summary.acknowledged = stats.acknowledged
      summary['acknowledged after freeing'] = stats.ackedAfterFreed
      summary['refused while full'] = stats.failed
      summary['unhealthy answers'] = stats.unhealthy
      summary.lost = stats.lost
    }
  },
}

/**
 * `tsvm repair` racing other tsvm commands on its dir, round after round on one chain: three
 * loops of readers and proposers open the dir while it is repaired, and about a third of the
 * repairs are SIGKILLed at a seeded moment and finished by the next. Nothing but DB_LOCKED or
 * REPAIR_INCOMPLETE may refuse an opener, and the chain keeps every block and acknowledged payload.
 */
const repairRacePhase: Phase = {
  name: 'repair-race',
  share: 1,
  async run({seed, budgetMs, summary, log}) {
    const stats: RepairRaceStats = {
      repairs: 0,
      repairsRefused: 0,
      kills: 0,
      openers: 0,
      locked: 0,
      incomplete: 0,
      acknowledged: 0,
      lost: 0,
    }
    const next = rng(seed)
    const started = Date.now()
    let rounds = 0
    let blocks = 0
    try {
      await withDir(async (root) => {
        const dir = join(root, 'chain')
        const input = Array.from({length: 2000}, (_, i) => toHex(payloadOf(`repair-race/${seed}`, i))).join('\n')
        assert.equal((await tsvm(['propose', '-', '--data-dir', dir], {input})).code, 0)
        let known = await inspect(dir)
        while (rounds < 200 && (rounds < 5 || Date.now() - started < budgetMs)) {
          rounds++
          const options = {
            kill: next() < 0.35,
            openers: 3,
            backup: rounds % 2 === 0 ? join(root, `backup-${rounds}`) : undefined,
          }
          known = await repairRaceRound(dir, `repair-race/${seed}/${rounds}`, next, stats, options, known)
          blocks = known.accepted.length
          if (rounds % 5 === 0)
            log(
              `${rounds} rounds: ${stats.repairs} repairs (${stats.kills} killed), ${stats.openers} opener runs, ${stats.acknowledged} acknowledged, ${stats.lost} lost`,
            )
        }
      })
    } finally {
      summary.rounds = rounds
      summary.repairs = stats.repairs
      summary['repairs killed'] = stats.kills
      summary['repairs refused'] = stats.repairsRefused
      summary['opener runs'] = stats.openers
      summary['refused DB_LOCKED'] = stats.locked
      summary['refused REPAIR_INCOMPLETE'] = stats.incomplete
      summary.acknowledged = stats.acknowledged
      summary['blocks checked'] = blocks
      summary.lost = stats.lost
    }
  },
}

/** Every phase, in the order they run. */
export const phases: Phase[] = [
  fuzzPhase,
  crashPhase('crash-propose', proposeRound, 30, 200, 2000),
  crashPhase('crash-serve', serveRound, 30, 200, 2000),
  // Killed by the server itself while one group's write is in flight and the next is built or asked for.
  crashPhase('crash-serve-in-flight', serveInFlightRound, 30, 200, 2000),
  concurrencyPhase,
  hostilePhase,
  diskFullPhase,
  // Last, with a small share: it always runs its first five rounds, whatever time is left, and
  // the hostile phase needs its time for the server's own timeouts to drop slow clients.
  repairRacePhase,
]
