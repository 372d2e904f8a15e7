// The write phase of a stamp run: every receipt of the run delivered to its name, whole and
// durable, on this thread and the helper threads (threads.ts), with the primitives of write.ts:
//
//   1. every receipt rendered into its temp file (`.<name>.tsvm.tmp-<pid>` beside it, or at its
//      final name inside a new directory built under `.<dir>.tsvm.tmp-<pid>`);
//   2. all of them made durable at once (syncfs of each file system, else file by file);
//   3. each moved to its name (link, or rename with --force; a new directory by one rename);
//   4. the directories made durable.
//
// A kill at any point leaves whole receipts and temp files that a directory walk skips.
import {readdirSync, renameSync, rmSync} from 'node:fs'
import {dirname, join, sep} from 'node:path'

import {Helpers, isDone, type Job, newBoard} from './threads.js'
import {receiptCommitter, receiptWriter, type WriteJob} from './work.js'
import {type Destinations, removeQuietly, stagingPath, syncDir, syncFile, syncWritten, tempPath} from './write.js'

/** Progress of the write phase: temp files written, then receipts moved to their names. */
export type DeliverProgress = (phase: 'write' | 'commit', done: number, total: number) => void

/**
 * Writes every receipt of the job, on this thread and the helpers: all temp files first (new
 * directories whole, under a temp name), then, once they are durable, each moved to its name (a
 * new directory by one rename), then the directories made durable. On failure the temp files of
 * this run are removed and the error is thrown.
 */
export async function deliverReceipts(
  plan: WriteJob,
  helpers: Helpers,
  dest: Destinations | undefined,
  onProgress?: DeliverProgress,
): Promise<void> {
  const n = plan.targets.length
  const dirs = [...new Set(plan.targets.map((t) => dirname(t)))]
  const staged = (dest?.fresh ?? []).map((dir) => ({dir, temp: stagingPath(dir), moved: false}))
  const job: WriteJob = staged.length === 0 ? plan : {...plan, staged}
  const parents = [...new Set([...dirs, ...staged.map((s) => dirname(s.dir))])]
  try {
    await runAll(helpers, {kind: 'write', job}, receiptWriter(job), n, (d) => onProgress?.('write', d, n))
    syncWritten(parents, () => {
      for (const s of staged) syncTree(s.temp)
      for (const t of plan.targets) if (!staged.some((s) => t.startsWith(s.dir + sep))) syncFile(tempPath(t))
    })
    for (const s of staged) {
      try {
        renameSync(s.temp, s.dir)
        s.moved = true
      } catch (error) {
        // the name was taken meanwhile: its receipts are committed one by one below
        const {code} = error as {code?: string}
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR') throw error
      }
    }

    // Receipts inside a directory renamed into place are already at their names.
    const moved = staged.filter((s) => s.moved).map((s) => s.dir + sep)
    if (plan.targets.some((t) => !moved.some((m) => t.startsWith(m)))) {
      await runAll(helpers, {kind: 'commit', job}, receiptCommitter(job), n, (d) => onProgress?.('commit', d, n))
    } else onProgress?.('commit', n, n)
    for (const s of staged) if (!s.moved) rmSync(s.temp, {recursive: true, force: true})
    syncWritten(parents, () => {
      for (const d of dest?.syncDirs ?? dirs) syncDir(d)
    })
  } catch (error) {
    try {
      for (const s of staged) if (!s.moved) rmSync(s.temp, {recursive: true, force: true})
      for (const t of plan.targets) removeQuietly(tempPath(t))
    } catch {
      // best effort: a temp file left here is never taken as an item, and --resume removes it
    }

    throw error
  }
}

/** fdatasyncs every file and fsyncs every directory under `dir`, and `dir` itself. */
function syncTree(dir: string): void {
  for (const d of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, d.name)
    if (d.isDirectory()) syncTree(path)
    else syncFile(path)
  }

  syncDir(dir)
}

/** Runs a write or commit job over `n` items on every thread; items a helper did not get to (it died) are done here. */
async function runAll(
  helpers: Helpers,
  job: Job,
  fn: (i: number) => void,
  n: number,
  progress: (done: number) => void,
): Promise<void> {
  const board = newBoard(n)
  await helpers.run(
    job,
    board,
    (i) => {
      fn(i)
      return true
    },
    progress,
  )
  let missed = 0
  for (let i = 0; i < n; i++)
    if (!isDone(board, i)) {
      fn(i)
      missed++
    }

  if (missed > 0) progress(n)
}
