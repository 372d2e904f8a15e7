// A disk-full episode under a live server: the data dir sits on a small tmpfs, clients load
// proposeBlock through the real `tsvm serve`, a filler file takes the last free byte, the filler is
// deleted again, the clients go on, the server is stopped with SIGTERM and the data dir is read as
// the next start would find it. Every payload answered Success:true must be stored, `tsvm check`
// must pass, and while the disk was full /ext/health must have said unhealthy.
//
// Needs root (mount -t tmpfs); diskFullSupport() says why it cannot run otherwise.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {open, rm} from 'node:fs/promises'
import {Agent, get} from 'node:http'
import {join} from 'node:path'

import {toHex} from '../../src/vm/encoding.js'
import {assertNoDuplicates, inspect, payloadOf, propose} from './crash.js'

export {type Answer, propose} from './crash.js'
import {startServeChild} from './target.js'

/** A small tmpfs mounted on a directory, unmounted by `unmount`. */
export interface SmallDisk {
  dir: string
  unmount(): void
}

/** Undefined when a tmpfs can be mounted here, else why not (the caller skips and prints it). */
export function diskFullSupport(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux to mount a tmpfs (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs (run the tests as root to include it)'
  return undefined
}

/** Mounts a tmpfs of `mib` MiB on `dir` (which must exist and be empty). */
export function mountSmallDisk(dir: string, mib = 8): SmallDisk {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], {stdio: 'pipe'})
  let mounted = true
  return {
    dir,
    unmount() {
      if (!mounted) return
      mounted = false
      execFileSync('umount', [dir], {stdio: 'pipe'})
    },
  }
}

/** Writes `path` until the filesystem has no byte left; returns the bytes written. */
export async function fillDisk(path: string): Promise<number> {
  const file = await open(path, 'w')
  const chunk = Buffer.alloc(64 * 1024, 0xa5)
  let written = 0
  try {
    for (let size = chunk.length; size >= 1;) {
      try {
        const {bytesWritten} = await file.write(chunk, 0, size)
        written += bytesWritten
        if (bytesWritten < size) size = Math.floor(size / 2)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
        size = Math.floor(size / 2)
      }
    }
  } finally {
    await file.close().catch(() => {})
  }

  return written
}

/** The HTTP status of /ext/health (0 when it did not answer). */
export function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({host: '127.0.0.1', port, path: '/ext/health'}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
  })
}

/** Figures of one episode. */
export interface DiskFullStats {
  /** Payloads answered Success:true, before, during and after the full disk. */
  acknowledged: number
  ackedWhileFull: number
  ackedAfterFreed: number
  /** Proposals answered with an error while the disk was full or recovering. */
  failed: number
  /** Health answers 503 seen while the disk was full. */
  unhealthy: number
  /** Acknowledged payloads missing after the restart. */
  lost: number
  /** Accepted blocks after the restart. */
  blocks: number
}

/** Options of one episode: how many acknowledgements before filling and after freeing. */
export interface DiskFullOptions {
  tag: string
  clients?: number
  warmup?: number
  after?: number
  /** Upper bound on each stage, so a server that stops answering fails the run instead of hanging it. */
  stageMs?: number
  log?: (line: string) => void
}

/**
 * One disk-full episode on `disk` (a mounted small tmpfs; its data dir is `disk/data`). Throws
 * when a guarantee breaks; returns the figures either way through `stats` (filled as it goes).
 */
export async function diskFullEpisode(disk: SmallDisk, options: DiskFullOptions, stats: DiskFullStats): Promise<void> {
  const clients = options.clients ?? 8
  const stageMs = options.stageMs ?? 60_000
  const log = options.log ?? (() => {})
  const dataDir = join(disk.dir, 'data')
  const filler = join(disk.dir, 'filler')
  const server = await startServeChild(dataDir)
  const agent = new Agent({keepAlive: true, maxSockets: clients})
  const acked: string[] = []
  let stage: 'warmup' | 'full' | 'freed' = 'warmup'
  let stop = false
  let sent = 0
  const worker = async (w: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- set by the side that stops the run while this loop awaits
    for (let k = 0; !stop; k++) {
      const data = payloadOf(`${options.tag}/${w}`, k)
      const answer = await propose(agent, server.port, data, ++sent)
      switch (answer) {
        case 'ok': {
          acked.push(toHex(data))
          stats.acknowledged++
          if (stage === 'full') stats.ackedWhileFull++
          if (stage === 'freed') stats.ackedAfterFreed++

          break
        }

        case 'error': {
          stats.failed++

          break
        }

        case 'unreachable': {
          // The server went away: the stages below notice through their bounds.
          await new Promise((r) => {
            setTimeout(r, 10)
          })

          break
        }
        // No default
      }
    }
  }

  const until = async (what: string, done: () => boolean | Promise<boolean>): Promise<void> => {
    const limit = Date.now() + stageMs
    while (!(await done())) {
      if (Date.now() > limit || server.child.exitCode !== null) {
        throw new Error(
          `${what} did not happen within ${stageMs} ms (server ${server.child.exitCode === null ? 'running' : `exited ${server.child.exitCode}`})`,
        )
      }

      await new Promise((r) => {
        setTimeout(r, 20)
      })
    }
  }

  const workers = Array.from({length: clients}, (_, w) => worker(w))
  let stopped = false
  try {
    await until(
      `${options.warmup ?? 500} acknowledgements before filling the disk`,
      () => stats.acknowledged >= (options.warmup ?? 500),
    )
    stage = 'full'
    const filled = await fillDisk(filler)
    log(`disk filled with ${Math.round(filled / 1024)} KiB after ${stats.acknowledged} acknowledgements`)
    const failedBefore = stats.failed
    await until('a failed proposal while the disk is full', () => stats.failed > failedBefore)
    // Full until the health endpoint said so (or the stage's bound: asserted after the restart).
    const healthLimit = Date.now() + stageMs
    while (stats.unhealthy === 0 && Date.now() < healthLimit && server.child.exitCode === null) {
      if ((await healthStatus(server.port)) === 503) stats.unhealthy++
      else
        await new Promise((r) => {
          setTimeout(r, 20)
        })
    }

    await rm(filler)
    stage = 'freed'
    log(`disk freed: ${stats.failed} proposals failed, ${stats.ackedWhileFull} acknowledged while full`)
    const target = stats.acknowledged + (options.after ?? 1000)
    await until(`${options.after ?? 1000} acknowledgements after freeing the disk`, () => stats.acknowledged >= target)
  } finally {
    stop = true
    await Promise.all(workers)
    agent.destroy()
    if (server.child.exitCode === null) server.child.kill('SIGTERM')
    await server.exited
    stopped = true
    await rm(filler, {force: true})
  }

  assert.ok(stopped)
  const after = await inspect(dataDir)
  assertNoDuplicates(after)
  stats.blocks = after.accepted.length
  const stored = new Set([...after.accepted, ...after.mempool])
  const lost = acked.filter((p) => !stored.has(p))
  stats.lost += lost.length
  log(`restart: ${after.accepted.length} blocks, ${acked.length} acknowledged, ${lost.length} lost`)
  assert.equal(
    lost.length,
    0,
    `${lost.length} of ${acked.length} payloads answered Success:true are not stored after a disk-full episode and a restart, first ${lost[0]}`,
  )
  assert.ok(stats.unhealthy > 0, '/ext/health never said unhealthy while writes were failing on the full disk')
  assert.ok(stats.ackedAfterFreed > 0, 'nothing was acknowledged after the disk was freed')
}
