// The per-item work of a stamp run (hashing a file, rendering and writing its receipt) as plain
// synchronous functions, so the main thread and the helper threads of threads.ts run the same
// code. Synchronous on purpose: the items are many and small, and for them the thread-pool round
// trips of async fs calls cost more than the reads, hashes and writes themselves.
import {hash} from 'node:crypto'
import {closeSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'
import {threadId} from 'node:worker_threads'

import {TsvmError} from '../vm/errors.js'
import {MerkleTree} from './merkle.js'
import {receiptSerializer, type Receipt} from './receipt.js'

/** Files up to this size are read in one call and hashed at once; larger ones are streamed (hash.ts). */
export const SMALL_FILE = 1 << 20

/** A read buffer for hashSmallFile: one byte more than SMALL_FILE, to tell a larger file apart. */
export function readBuffer(): Buffer {
  return Buffer.allocUnsafe(SMALL_FILE + 1)
}

/**
 * SHA-256 of the file at `path` when it has at most SMALL_FILE bytes, read into `buf` (from
 * readBuffer); undefined for a larger file (or one that grew while read). No fstat: filling the
 * buffer is the size check. fs errors are thrown as they are.
 */
export function hashSmallFile(path: string, buf: Buffer): Uint8Array | undefined {
  const fd = openSync(path, 'r')
  try {
    let n = 0
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r
    if (n > SMALL_FILE) return undefined
    const digest = hash('sha256', buf.subarray(0, n), 'buffer')
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
  } finally {
    closeSync(fd)
  }
}

let tmpCounter = 0

/** Receipt text is encoded into this buffer (one per thread), not into a new one per file. */
const textBuf = Buffer.allocUnsafe(64 * 1024)

/** Creates `path` (failing if it exists) and writes `text` to it. */
function createWith(path: string, text: string): void {
  if (text.length * 3 > textBuf.length) return writeFileSync(path, text, {flag: 'wx'})
  const n = textBuf.write(text)
  const fd = openSync(path, 'wx')
  try {
    for (let off = 0; off < n; ) off += writeSync(fd, textBuf, off, n - off)
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes a receipt. With `replace`, atomically (temp file + rename, so a reader sees the old or
 * the new receipt, never half of one); without, by exclusive create, so an existing file is
 * never touched. `dirs` caches the directories already created.
 */
export function writeReceiptFile(path: string, text: string, replace: boolean, dirs = new Set<string>()): void {
  const parent = dirname(path)
  if (!dirs.has(parent)) {
    mkdirSync(parent, {recursive: true})
    dirs.add(parent)
  }
  if (!replace) {
    try {
      createWith(path, text)
    } catch (error) {
      if ((error as {code?: string}).code === 'EEXIST') {
        throw new TsvmError('RECEIPT_EXISTS', `receipt ${path} appeared while stamping: pass --force to replace it`, {cause: error})
      }
      throw error
    }
    return
  }
  // The thread ID keeps the temp names of one process's threads apart.
  const tmp = `${path}.${process.pid}.${threadId}.${tmpCounter++}.tmp`
  createWith(tmp, text)
  try {
    renameSync(tmp, path)
  } catch (error) {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
    throw error
  }
}

/** Everything needed to render and write every receipt of a run, in a form that can be posted to another thread. */
export interface WriteJob {
  /** The parts every receipt of the run shares. */
  shared: Omit<Receipt, 'item' | 'merkle'>
  /** The Merkle tree's levels (MerkleTree.toLevels) when there are several items, else null. */
  levels: readonly Uint8Array[] | null
  /** The item hashes, 32 bytes each, in item order. */
  hashes: Uint8Array
  /** Item names (files) or undefined (hashes from stdin), in item order. */
  names: ReadonlyArray<string | undefined>
  /** Receipt paths, in item order. */
  targets: readonly string[]
  /** Replace existing receipts (temp file + rename) instead of creating new ones. */
  replace: boolean
}

/** A function that renders and writes receipt `i` of the job. */
export function receiptWriter(job: WriteJob): (i: number) => void {
  const tree = job.levels ? MerkleTree.fromLevels(job.levels) : undefined
  const serialize = receiptSerializer(job.shared)
  const dirs = new Set<string>()
  const leaves = job.targets.length
  return (i) => {
    const name = job.names[i]
    const item = {hash: job.hashes.subarray(i * 32, (i + 1) * 32), ...(name === undefined ? {} : {name})}
    writeReceiptFile(job.targets[i]!, serialize(item, tree ? {leaves, index: i, path: tree.pathHex(i)} : null), job.replace, dirs)
  }
}
