// `tsvm stamp --resume`: finishes the stamp runs whose receipts are not all written (a run that
// was killed, or could not write them after its block was accepted), from their records
// (pending.ts), on the chain each was stamped on, without a new block when its payload is
// accepted there. A run killed before its payload reached the chain is proposed now, as it would
// have been. Receipts the run already wrote are kept; temp files its writes left are removed.
import {existsSync} from 'node:fs'
import {basename, dirname} from 'node:path'

import type {Chain} from '../chain/chain.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {claimRecord, listRecords, readRecord, releaseRecord} from './pending.js'
import {settle, type SettleOptions, type StampResult} from './stamp.js'
import {Helpers} from './threads.js'
import {checkWritable, removeStaleTemps} from './write.js'

/** What resuming one run did: its stamp result, or that its owner is still running. */
export type ResumeResult =
  (Omit<StampResult, 'skipped'> & {record: string}) | {record: string; status: 'running'; pid: number}

/** How resumeStamps opens a recorded chain. */
export type OpenRecordedChain = (where: {dataDir?: string; endpoint?: string}) => Promise<Chain>

/** Finishes every run recorded in `dir` whose owner is gone; a run still in progress is reported as running. */
export async function resumeStamps(
  dir: string,
  open: OpenRecordedChain,
  options: Pick<SettleOptions, 'force' | 'timeoutMs' | 'onProgress'> & {paths?: readonly string[]} = {},
): Promise<ResumeResult[]> {
  if (options.paths !== undefined && options.paths.length > 0)
    throw new TsvmError('USAGE', '--resume finishes recorded runs and takes no paths: run `tsvm stamp --resume` alone')
  const results: ResumeResult[] = []
  for (const entry of listRecords(dir)) {
    if (entry.running) {
      results.push({record: entry.path, status: 'running', pid: entry.pid})
      continue
    }

    const record = claimRecord(entry)
    if (record === undefined) continue
    try {
      results.push(await resumeOne(record, open, options))
    } finally {
      releaseRecord(record)
    }
  }

  return results
}

async function resumeOne(
  record: string,
  open: OpenRecordedChain,
  options: Pick<SettleOptions, 'force' | 'timeoutMs' | 'onProgress'>,
): Promise<ResumeResult> {
  const run = readRecord(record)
  const targets = run.items.map((it) => it.target)
  const dest = checkWritable(targets, {
    hint: `the record ${record} is kept: fix that, then run \`tsvm stamp --resume\` again`,
  })
  // Temp files the interrupted run left: beside each receipt, and directories it was building
  // under a staging name beside any directory on the way to one.
  const byDir = new Map<string, Set<string>>()
  const note = (dir: string, name: string): boolean => {
    let names = byDir.get(dir)
    if (!names) byDir.set(dir, (names = new Set()))
    const fresh = !names.has(name)
    names.add(name)
    return fresh
  }

  for (const t of targets) {
    note(dirname(t), basename(t))
    for (let d = dirname(t); dirname(d) !== d && note(dirname(d), basename(d) + '.tsvm'); d = dirname(d));
  }

  for (const [d, names] of byDir) removeStaleTemps(d, names)
  const where = run.chain.kind === 'embedded' ? {dataDir: run.chain.location} : {endpoint: run.chain.location}
  if (where.dataDir !== undefined && !existsSync(where.dataDir)) {
    throw new TsvmError(
      'NOT_INITIALIZED',
      `the data dir ${where.dataDir} that the interrupted run ${record} was stamped on is gone: restore it, then run \`tsvm stamp --resume\` again`,
    )
  }

  const chain = await open(where).catch((error: unknown) => {
    const message = `cannot open the chain ${run.chain.location} that the interrupted run ${record} was stamped on: ${(error as Error).message}`
    throw new TsvmError(isTsvmError(error) ? error.code : 'IO_ERROR', message, {cause: error})
  })
  const helpers = Helpers.forItems(run.items.length)
  try {
    return {...(await settle(chain, run, {...options, record, helpers, dest, resume: true})), record}
  } finally {
    await helpers.close()
    await chain.close()
  }
}
