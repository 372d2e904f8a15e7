// Spreads the per-item work of a big stamp run (hashing files, writing receipts) over the main
// thread and helper threads, so a run uses every core instead of one.
//
// Items are handed out in chunks from a counter in shared memory (Atomics): whoever is free takes
// the next chunk, so a helper that starts late or runs slowly just takes fewer. Each item's state
// is shared too (1 = done), and the caller finishes on the main thread whatever no thread
// finished: items a helper leaves on purpose (a file too large to read at once, a read error the
// main thread reports in full), and everything of a helper that failed to start or died. The main
// thread never depends on a helper to get the work done, only to get it done sooner.
import {availableParallelism} from 'node:os'
import {MessageChannel, type MessagePort, receiveMessageOnPort, Worker} from 'node:worker_threads'

import {type ErrorCode, TsvmError} from '../vm/errors.js'
import type {WriteJob} from './work.js'

/** Slots of the control array: the next unclaimed index, how many items are done, and a stop flag. */
const NEXT = 0
const DONE = 1
const STOP = 2

/** Items per claimed chunk: big enough to keep claims rare, small enough to share the tail. */
export const CHUNK = 32

/** Runs smaller than this stay on the main thread: a helper takes tens of milliseconds to start. */
export const PARALLEL_MIN_ITEMS = 1000

/** The shared bookkeeping of one job over `n` items. */
export interface Board {
  n: number
  /** NEXT, DONE, STOP. */
  ctl: Int32Array
  /** One byte per item: 1 once done. */
  state: Uint8Array
}

/** A fresh board for `n` items. */
export function newBoard(n: number): Board {
  return {
    n,
    ctl: new Int32Array(new SharedArrayBuffer(3 * 4)),
    state: new Uint8Array(new SharedArrayBuffer(Math.max(n, 1))),
  }
}

/** A job: hash these files (digests go to shared memory), write these receipts' temp files, or move them to their names. */
export type Job =
  | {kind: 'hash'; paths: readonly string[]; digests: SharedArrayBuffer}
  | {kind: 'write' | 'commit'; job: WriteJob}
  | {kind: 'check'; paths: readonly string[]; receipts: readonly string[]; digests: SharedArrayBuffer}

/**
 * What a helper is sent: the job and its board's shared memory, and for the check job a port to
 * send each chunk's results on as it goes (read by the main thread between its own chunks).
 */
export type JobMessage = Job & {ctl: SharedArrayBuffer; state: SharedArrayBuffer; n: number; results?: MessagePort}

/** A helper's answer to a job: done, or the error that stopped it. */
export type JobReply = {ok: true; out?: unknown[]} | {ok: false; error: ErrorShape}

/** An error as it crosses threads: a TsvmError's code, or an fs error's errno code. */
export interface ErrorShape {
  message: string
  tsvmCode?: string
  details?: Record<string, unknown>
  code?: string
  path?: string
  syscall?: string
}

export function boardFrom(m: {ctl: SharedArrayBuffer; state: SharedArrayBuffer; n: number}): Board {
  return {n: m.n, ctl: new Int32Array(m.ctl), state: new Uint8Array(m.state)}
}

/**
 * Claims chunks until none is left (or the stop flag is set) and runs `fn` on each index; `fn`
 * returns false for an item it leaves to the main thread. If `fn` throws, the stop flag is set
 * (so other threads stop at their next claim) and the error is rethrown. `afterChunk` gets the
 * number of items done so far by all threads.
 */
export function drain(board: Board, fn: (i: number) => boolean, afterChunk?: (done: number) => void): void {
  const {ctl, state, n} = board
  try {
    while (Atomics.load(ctl, STOP) === 0) {
      const start = Atomics.add(ctl, NEXT, CHUNK)
      if (start >= n) return
      const end = Math.min(start + CHUNK, n)
      let done = 0
      for (let i = start; i < end; i++) {
        if (fn(i)) {
          state[i] = 1
          done++
        }
      }

      // The atomic add also publishes this chunk's writes (state, digests) to whoever reads DONE.
      const total = Atomics.add(ctl, DONE, done) + done
      afterChunk?.(total)
    }
  } catch (error) {
    Atomics.store(ctl, STOP, 1)
    throw error
  }
}

/** How many items have been claimed (handed out in chunks), by every thread; at most n + a chunk per thread. */
export function claimedCount(board: Board): number {
  return Atomics.load(board.ctl, NEXT)
}

/** How many items are done, by every thread. */
export function doneCount(board: Board): number {
  return Atomics.load(board.ctl, DONE)
}

/** True when item `i` is done; read after the job's threads have all answered. */
export function isDone(board: Board, i: number): boolean {
  Atomics.load(board.ctl, DONE)
  return board.state[i] === 1
}

export function errorShape(error: unknown): ErrorShape {
  const e = error as {
    message?: string
    code?: unknown
    path?: string
    syscall?: string
    details?: Record<string, unknown>
  }
  const shape: ErrorShape = {message: e?.message ?? String(error)}
  if (error instanceof TsvmError) {
    shape.tsvmCode = error.code
    if (error.details) shape.details = error.details
  } else if (typeof e?.code === 'string') {
    shape.code = e.code
    if (e.path !== undefined) shape.path = e.path
    if (e.syscall !== undefined) shape.syscall = e.syscall
  }

  return shape
}

/** The error a helper reported, rebuilt so the exit code and message are those of the same error on the main thread. */
export function errorFromShape(shape: ErrorShape): Error {
  if (shape.tsvmCode)
    return new TsvmError(shape.tsvmCode as ErrorCode, shape.message, shape.details ? {details: shape.details} : {})
  return Object.assign(new Error(shape.message), {code: shape.code, path: shape.path, syscall: shape.syscall})
}

/** The helper threads of one stamp run. Always close() them. */
export class Helpers {
  private constructor(private workers: Worker[]) {
    // A helper that fails or exits between jobs is dropped; with no listener its 'error' would
    // be thrown on the main thread.
    for (const w of workers) {
      const drop = () => {
        this.workers = this.workers.filter((x) => x !== w)
      }

      w.on('error', drop)
      w.on('exit', drop)
    }
  }

  /** No helpers: every job runs on the main thread alone. */
  static none(): Helpers {
    return new Helpers([])
  }

  /** Helpers for a run of `items` items: one per core beyond the first (at most 3), none for a small run. */
  static forItems(items: number): Helpers {
    const count = items < PARALLEL_MIN_ITEMS ? 0 : Math.min(availableParallelism(), 4) - 1
    const workers: Worker[] = []
    for (let i = 0; i < count; i++) {
      try {
        workers.push(new Worker(new URL('./stamp-worker.js', import.meta.url)))
      } catch {
        // no helper: the main thread does its share
      }
    }

    return new Helpers(workers)
  }

  get count(): number {
    return this.workers.length
  }

  /**
   * Runs a job over the board on every helper and on this thread; resolves once every helper has
   * answered. A helper that fails to start or dies is dropped (its unfinished items stay not
   * done, for the caller to finish). The first error, of this thread or a helper, is thrown.
   * Returns what the helpers sent back with their answers (the check job's results).
   */
  async run(
    job: Job,
    board: Board,
    fn: (i: number) => boolean,
    afterChunk?: (done: number) => void,
  ): Promise<unknown[]> {
    const message: JobMessage = {
      ...job,
      ctl: board.ctl.buffer as SharedArrayBuffer,
      state: board.state.buffer as SharedArrayBuffer,
      n: board.n,
    }
    const replies = this.workers.map((w) => this.reply(w))
    // The check job's results come back chunk by chunk, each helper on its own port, and are taken
    // between this thread's chunks: copying them in is then part of the shared work, not a wait at the end.
    const channels = job.kind === 'check' ? this.workers.map(() => new MessageChannel()) : []
    for (const [k, w] of this.workers.entries()) {
      const port = channels[k]?.port2
      if (port) w.postMessage({...message, results: port}, [port])
      else w.postMessage(message)
    }

    const out: unknown[] = []
    const take = () => {
      for (const c of channels) for (let m; (m = receiveMessageOnPort(c.port1));) out.push(...(m.message as unknown[]))
    }

    let failure: unknown
    try {
      drain(board, fn, (done) => {
        take()
        afterChunk?.(done)
      })
    } catch (error) {
      failure = error
    }

    const answers = await Promise.all(replies)
    // a helper posts its last results before it answers: they are in the port's queue by now
    take()
    for (const c of channels) c.port1.close()
    if (failure !== undefined) throw failure
    const failed = answers.find((a): a is {ok: false; error: ErrorShape} => a !== undefined && !a.ok)
    if (failed) throw errorFromShape(failed.error)
    return [...out, ...answers.flatMap((a) => (a?.ok && a.out ? a.out : []))]
  }

  /** The helper's answer to the job just posted; undefined (and the helper dropped) if it failed or exited. */
  private reply(w: Worker): Promise<JobReply | undefined> {
    return new Promise((resolve) => {
      const done = (answer: JobReply | undefined) => {
        w.off('message', onMessage)
        w.off('error', onGone)
        w.off('exit', onGone)
        resolve(answer)
      }

      const onMessage = (answer: JobReply) => done(answer)
      // eslint-disable-next-line unicorn/no-useless-undefined -- done's one argument is the error: none here
      const onGone = () => done(undefined)
      w.on('message', onMessage)
      w.once('error', onGone)
      w.once('exit', onGone)
    })
  }

  /** Stops every helper. */
  async close(): Promise<void> {
    const {workers} = this
    this.workers = []
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
