// The per-item work of a stamp run (hashing a file, rendering and writing its receipt) as plain
// synchronous functions, so the main thread and the helper threads of threads.ts run the same
// code. Synchronous on purpose: the items are many and small, and for them the thread-pool round
// trips of async fs calls cost more than the reads, hashes and writes themselves.
import {closeSync, mkdirSync, openSync, readFileSync, readSync} from 'node:fs'
import {dirname, sep} from 'node:path'

import {bytesEqual, sha256} from '../vm/hash.js'
import {MerkleTree} from './merkle.js'
import {parseReceipt, receiptSerializer, type Receipt} from './receipt.js'
import {commitTemp, createFileAtomic, tempPath, writeFileAtomic, writeTemp} from './write.js'

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
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r
    if (n > SMALL_FILE) return undefined
    // sha256 copies its digest into a small array: a Buffer digest would be a memory block outside the heap per file
    return sha256(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes one receipt file on its own, atomically and durably (see write.ts). With `replace`, an
 * existing receipt is replaced; without, an existing file is never touched (RECEIPT_EXISTS).
 * `dirs` caches the directories already created.
 */
export function writeReceiptFile(path: string, text: string, replace: boolean, dirs = new Set<string>()): void {
  const parent = dirname(path)
  if (!dirs.has(parent)) {
    mkdirSync(parent, {recursive: true})
    dirs.add(parent)
  }

  if (replace) writeFileAtomic(path, text)
  else createFileAtomic(path, text)
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
  /** Replace existing receipts instead of creating new ones. */
  replace: boolean
  /**
   * Finishing an interrupted run: a receipt already there is left as it is when it is this run's
   * (same text), replaced when it is this run's in another state (pending, now complete), and
   * refused otherwise (unless replace).
   */
  resume?: boolean
  /**
   * New directories built under a temp name and renamed into place whole (write.ts
   * Destinations.fresh): their receipts are written at their final names inside. `moved` once
   * renamed; a directory that could not be (its name was taken meanwhile) has its receipts
   * committed one by one.
   */
  staged?: ReadonlyArray<{dir: string; temp: string; moved?: boolean}>
}

/** Where receipt `target` is written before it is committed: inside its staging directory, or its temp file beside it. */
function stagedLocator(
  job: WriteJob,
): (target: string) => {path: string; staged?: {dir: string; temp: string; moved?: boolean}} {
  const staged = job.staged ?? []
  const byDir = new Map<string, (typeof staged)[number] | null>()
  return (target) => {
    if (staged.length === 0) return {path: tempPath(target)}
    const dir = dirname(target)
    let s = byDir.get(dir)
    if (s === undefined) byDir.set(dir, (s = staged.find((x) => dir === x.dir || dir.startsWith(x.dir + sep)) ?? null))
    return s ? {path: s.temp + target.slice(s.dir.length), staged: s} : {path: tempPath(target)}
  }
}

/** A function that renders receipt `i` of the job. */
export function receiptRenderer(job: WriteJob): (i: number) => string {
  const tree = job.levels ? MerkleTree.fromLevels(job.levels) : undefined
  const serialize = receiptSerializer(job.shared)
  const leaves = job.targets.length
  return (i) => {
    const name = job.names[i]
    const item = {hash: job.hashes.subarray(i * 32, (i + 1) * 32), ...(name === undefined ? {} : {name})}
    return serialize(item, tree ? {leaves, index: i, path: tree.pathHex(i)} : null)
  }
}

/**
 * A function that renders receipt `i` of the job and writes it to its temp file (write.ts),
 * creating its directory. Nothing is at the receipt's own name until receiptCommitter moves it.
 */
export function receiptWriter(job: WriteJob): (i: number) => void {
  const render = receiptRenderer(job)
  const locate = stagedLocator(job)
  const dirs = new Set<string>()
  return (i) => {
    const {path} = locate(job.targets[i]!)
    const parent = dirname(path)
    if (!dirs.has(parent)) {
      mkdirSync(parent, {recursive: true})
      dirs.add(parent)
    }

    writeTemp(path, render(i))
  }
}

/** A function that moves receipt `i`'s temp file (made durable before) to the receipt's name; nothing for a receipt of a staged directory already moved. */
export function receiptCommitter(job: WriteJob): (i: number) => void {
  const render = job.resume ? receiptRenderer(job) : undefined
  const {payload} = job.shared
  const adopt = (i: number) => (target: string) => {
    if (!render) return 'foreign'
    const mine = render(i)
    let text: string
    try {
      text = readFileSync(target, 'utf8')
    } catch {
      return 'foreign'
    }

    if (text === mine) return 'same'
    try {
      const r = parseReceipt(text)
      const same =
        bytesEqual(r.payload, payload) &&
        bytesEqual(r.item.hash, job.hashes.subarray(i * 32, (i + 1) * 32)) &&
        r.createdAt === job.shared.createdAt
      return same ? 'replace' : 'foreign'
    } catch {
      return 'foreign'
    }
  }

  const locate = stagedLocator(job)
  const dirs = new Set<string>()
  return (i) => {
    const target = job.targets[i]!
    const {path, staged} = locate(target)
    if (staged?.moved) return
    if (staged && !dirs.has(dirname(target))) {
      mkdirSync(dirname(target), {recursive: true})
      dirs.add(dirname(target))
    }

    commitTemp(path, target, job.replace, adopt(i))
  }
}
