// What a stamp run interrupted by Ctrl-C leaves, read from its pending-receipt record (pending.ts):
// the block its payload went into (when known), the receipts already in place and those still to
// write. `tsvm stamp --resume` writes the rest with the same block; nothing is proposed twice.
import {existsSync} from 'node:fs'

import {payloadJson, type PayloadJson} from '../output/json.js'
import {TsvmError} from '../vm/errors.js'
import {listRecords, readRecord} from './pending.js'

/** The summary of an interrupted stamp run (the --json output after Ctrl-C). */
export interface StampInterrupted {
  interrupted: true
  /** proposed: the payload went to the chain (blockID once accepted); not-proposed: nothing was spent; finished: every receipt is written. */
  stage: 'not-proposed' | 'proposed' | 'finished'
  payload: PayloadJson | null
  /** The block holding the payload, once accepted (the record keeps its ID and height only). */
  blockID: string | null
  height: string | null
  /** Receipts in place. */
  written: string[]
  /** Receipts still to write: `tsvm stamp --resume` writes them, with the same block. */
  notWritten: string[]
  /** The pending-receipt record `--resume` reads; null when there is none. */
  record: string | null
}

/** The state of this process's stamp run when Ctrl-C came, and the line that says what to do. */
export function stampInterrupted(pendingDir: string, finished: boolean): {json: StampInterrupted; message: string} {
  const mine = listRecords(pendingDir).find((r) => r.pid === process.pid)
  const none = {
    interrupted: true as const,
    payload: null,
    blockID: null,
    height: null,
    written: [],
    notWritten: [],
    record: null,
  }
  if (mine === undefined) {
    return finished
      ? {json: {...none, stage: 'finished'}, message: 'interrupted after the run finished: every receipt is written'}
      : {
          json: {...none, stage: 'not-proposed'},
          message: 'interrupted before anything was proposed: nothing was spent; run the same command again',
        }
  }

  const run = readRecord(mine.path)
  const written: string[] = []
  const notWritten: string[] = []
  for (const it of run.items) (existsSync(it.target) ? written : notWritten).push(it.target)
  const block = run.blockID === undefined ? 'its payload was proposed' : `block ${run.blockID} holds its payload`
  return {
    json: {
      interrupted: true,
      stage: 'proposed',
      payload: payloadJson(run.payload),
      blockID: run.blockID ?? null,
      height: run.height ?? null,
      written,
      notWritten,
      record: mine.path,
    },
    message:
      `interrupted: ${block}; ${written.length} of ${run.items.length} receipts are written, ${notWritten.length} are not: ` +
      'run `tsvm stamp --resume` to write them with the same block (no second block)',
  }
}

/**
 * The notes a new stamp run of `paths` starts with: that earlier runs were interrupted, if any.
 * USAGE when there is nothing to stamp.
 */
export function startNotes(paths: readonly unknown[], pendingDir: string): string[] {
  if (paths.length === 0)
    throw new TsvmError(
      'USAGE',
      'nothing to stamp: pass files or directories, - for hashes on stdin, or --resume\nSee --help for usage.',
    )
  const waiting = listRecords(pendingDir).filter((r) => !r.running).length
  if (waiting === 0) return []
  return [
    `${waiting} interrupted stamp run${waiting === 1 ? ' has' : 's have'} receipts still to write: run \`tsvm stamp --resume\``,
  ]
}
