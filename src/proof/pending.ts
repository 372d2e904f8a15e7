// The record of a stamp run whose receipts are not all written yet: everything needed to write
// every receipt again, so a run that is killed, or cannot write a receipt after its block was
// accepted, loses nothing and `tsvm stamp --resume` finishes it without another block.
//
// One file per run in the user's tsvm directory ($XDG_DATA_HOME/tsvm/pending-receipts, else
// ~/.local/share/tsvm/pending-receipts), never in a chain's data dir (a remote chain has none)
// nor among the files stamped. It is written durably before the payload is proposed, gains the
// block once accepted, and is removed once every receipt is durable:
//
//   <time>-<payload prefix>.<pid>.pending      pid: the process that owns it now
//   line 1  {"format": "tsvm-pending-receipts", "version": 1, "createdAt", "chain": {"kind", "location"},
//            "wait", "replace", "payload": <64 hex>, "hashes": <64 hex per item, joined>,
//            "names": [<name> | null, ...], "targets": [<receipt path>, ...]}
//   line 2  {"blockID": <CB58>, "height": "<dec>"}      appended once the payload is accepted
//
// A torn second line (a crash while appending it) is ignored: the block is then looked up by payload.
import {
  appendFileSync,
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
} from 'node:fs'
import {join} from 'node:path'

import {fromHex, toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {checkWritable, processAlive, removeQuietly, writeFileAtomic} from './write.js'

/** The format tag of a pending-receipt record. */
export const PENDING_FORMAT = 'tsvm-pending-receipts'

const RECORD_NAME = /^(.+)\.(\d+)\.pending$/

/** Records this process is writing receipts for right now (its other records are left over from a failed run). */
const active = new Set<string>()

/** Marks a record of this process as no longer being worked on (its run finished or failed). */
export function releaseRecord(path: string): void {
  active.delete(path)
}

/** Where pending-receipt records are kept for this user. */
export function pendingDir(env: Record<string, string | undefined>, home: string): string {
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'tsvm', 'pending-receipts')
}

/** One stamp run, as its record holds it. */
export interface PendingRun {
  createdAt: string
  chain: {kind: 'embedded' | 'remote'; location: string}
  wait: boolean
  replace: boolean
  payload: Uint8Array
  items: Array<{hash: Uint8Array; name?: string; target: string}>
  /** The accepted block, once known. */
  blockID?: string
  height?: string
}

/** Creates the record directory and checks a record can be written there (RECEIPT_UNWRITABLE, before anything is spent). */
export function preparePendingDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  } catch {
    // reported by the probe below, with the path
  }

  checkWritable([join(dir, 'probe')], {
    what: 'the record of receipts still to write',
    hint: 'nothing was proposed: set XDG_DATA_HOME to a directory you can write (tsvm keeps that record in XDG_DATA_HOME/tsvm/pending-receipts)',
  })
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * 32)
  for (const [i, p] of parts.entries()) out.set(p, i * 32)
  return out
}

/** Writes the record of `run` durably; returns its path. */
export function createRecord(dir: string, run: PendingRun): string {
  const payload = toHex(run.payload)
  const head = {
    format: PENDING_FORMAT,
    version: 1,
    createdAt: run.createdAt,
    chain: run.chain,
    wait: run.wait,
    replace: run.replace,
    payload,
    // Parallel arrays, and the hashes as one hex string: a tenth of the time of one object per item.
    hashes: toHex(joined(run.items.map((it) => it.hash))),
    names: run.items.map((it) => it.name ?? null),
    targets: run.items.map((it) => it.target),
  }
  const stamp = run.createdAt.replaceAll(/[^0-9]/g, '').slice(0, 17)
  const path = join(dir, `${stamp}-${payload.slice(0, 16)}.${process.pid}.pending`)
  writeFileAtomic(path, JSON.stringify(head) + '\n')
  active.add(path)
  return path
}

/** Adds the accepted block to the record at `path`, durably. */
export function noteBlock(path: string, blockID: string, height: string): void {
  appendFileSync(path, JSON.stringify({blockID, height}) + '\n')
  const fd = openSync(path, 'r')
  try {
    fdatasyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Removes a finished record. */
export function removeRecord(path: string): void {
  removeQuietly(path)
  active.delete(path)
}

/** A record in the directory and whether the process that owns it is still running. */
export interface RecordEntry {
  path: string
  pid: number
  running: boolean
}

/** Every record in `dir`, oldest first (none when the directory does not exist); temp files of records whose writer is gone are removed. */
export function listRecords(dir: string): RecordEntry[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }

  for (const name of names) {
    // a record half-written when its process was killed (before its payload was proposed)
    const m = /^\..+\.pending\.tmp-(\d+)$/.exec(name)
    if (m && !processAlive(Number(m[1]))) removeQuietly(join(dir, name))
  }

  return names
    .map((name) => RECORD_NAME.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0))
    .map((m) => {
      const pid = Number(m[2])
      const path = join(dir, m[0])
      return {path, pid, running: pid === process.pid ? active.has(path) : processAlive(pid)}
    })
}

/**
 * Takes over a record whose owner is gone: renames it to this process's pid, so that two
 * resuming processes never finish the same run. undefined when another process took it first.
 */
export function claimRecord(entry: RecordEntry): string | undefined {
  const m = RECORD_NAME.exec(entry.path.slice(entry.path.lastIndexOf('/') + 1))!
  const mine = join(entry.path.slice(0, entry.path.lastIndexOf('/')), `${m[1]}.${process.pid}.pending`)
  if (mine === entry.path) return (active.add(mine), mine)
  try {
    renameSync(entry.path, mine)
    active.add(mine)
    return mine
  } catch (error) {
    if ((error as {code?: string}).code === 'ENOENT') return undefined
    throw error
  }
}

/** Reads a record; RECEIPT_INVALID when it is not one. */
export function readRecord(path: string): PendingRun {
  const lines = readFileSync(path, 'utf8').split('\n')
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON: the check below establishes its shape
  let head: any
  try {
    head = JSON.parse(lines[0]!)
  } catch (error) {
    throw new TsvmError(
      'RECEIPT_INVALID',
      `${path} is not a pending-receipt record (${(error as Error).message}): remove it`,
      {cause: error},
    )
  }

  const n = Array.isArray(head?.targets) ? head.targets.length : -1
  if (
    head?.format !== PENDING_FORMAT ||
    head.version !== 1 ||
    !Array.isArray(head.names) ||
    head.names.length !== n ||
    head.hashes?.length !== n * 64
  ) {
    throw new TsvmError(
      'RECEIPT_INVALID',
      `${path} is not a pending-receipt record of a version this tsvm reads: remove it or use the tsvm that wrote it`,
    )
  }

  const run: PendingRun = {
    createdAt: head.createdAt,
    chain: {kind: head.chain.kind, location: head.chain.location},
    wait: head.wait,
    replace: head.replace,
    payload: fromHex(head.payload),
    items: (head.targets as string[]).map((target, i) => {
      const name = head.names[i] as string | null
      return {hash: fromHex(head.hashes.slice(i * 64, (i + 1) * 64)), target, ...(name === null ? {} : {name})}
    }),
  }
  for (const line of lines.slice(1)) {
    try {
      const note = JSON.parse(line)
      if (typeof note?.blockID === 'string') {
        run.blockID = note.blockID
        run.height = String(note.height)
      }
    } catch {
      // a torn last line: the block is looked up by payload instead
    }
  }

  return run
}
