// Stamping: collect items (files, directory trees, or hashes from stdin), hash files, commit to
// them with one 32-byte payload (the item hash itself for one item, the Merkle root for several),
// propose that payload once, and write one receipt per item. Big runs hash and write on every
// core (threads.ts).
//
// Receipt targets are checked before anything is proposed, so a run that would overwrite a
// receipt (without force) or cannot write one fails before it spends a block. A record of the
// run (pending.ts) is kept from before the proposal until every receipt is durable, so a run
// killed or failing after acceptance is finished by `tsvm stamp --resume` without a new block.
import {isUtf8} from 'node:buffer'
import {type Dirent, lstatSync, readdirSync} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {Status} from '../vm/block.js'
import {idFromString, idToString, parsePayload, toHex} from '../vm/encoding.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {bytesEqual} from '../vm/hash.js'
import {compileGlobs} from './glob.js'
import {hashFile} from './hash.js'
import {MerkleTree} from './merkle.js'
import {describeChain as chainRecord, isoTime} from './receipt.js'
import {deliverReceipts} from './deliver.js'
import {doneCount, Helpers, isDone, newBoard} from './threads.js'
import {receiptBlock} from './verify.js'
import {hashSmallFile, readBuffer, type WriteJob} from './work.js'
import {
  createRecord,
  listRecords,
  noteBlock,
  type PendingRun,
  preparePendingDir,
  releaseRecord,
  removeRecord,
} from './pending.js'
import {checkWritable, type Destinations, isTempName} from './write.js'

/** The receipt file extension. */
export const RECEIPT_EXT = '.tsvm'

/** One thing to stamp: a file (path set) or a bare hash. */
export interface StampItem {
  /** Absolute file path; absent for hashes from stdin. */
  path?: string
  /** The relative name recorded in the receipt (files only). */
  name?: string
  hash?: Uint8Array
}

/** Something found but not stamped, and why. */
export interface Skipped {
  path: string
  reason: 'symlink' | 'special file' | 'receipt' | 'duplicate' | 'name not UTF-8'
}

/** How items are collected. */
export interface CollectOptions {
  /** Globs applied to files found in directories (not to files named directly). */
  globs?: readonly string[]
  /** Where '-' reads hashes from. */
  stdin?: Readable
  cwd?: string
}

/** The relative, '/'-separated name of a file: relative to cwd when inside it, else to the input's parent. */
export function nameFor(abs: string, inputAbs: string, cwd: string): string {
  let rel = relative(cwd, abs)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) rel = relative(dirname(inputAbs), abs)
  return rel.split(sep).join('/')
}

/** What nameFor puts before a file's path below the directory `dirAbs`: '' or a name ending in '/'. */
export function dirPrefix(dirAbs: string, cwd: string): string {
  let rel = relative(cwd, dirAbs)
  if (rel.startsWith('..') || isAbsolute(rel)) rel = relative(dirname(dirAbs), dirAbs)
  return rel === '' ? '' : rel.split(sep).join('/') + '/'
}

/** A file system entry found under a directory: its absolute path and '/'-separated path relative to it. */
interface Found {
  abs: string
  rel: string
  kind: 'file' | 'symlink' | 'special' | 'bad name'
}

/**
 * The names in `dir` whose bytes are not UTF-8, as Node decodes them (with U+FFFD), each mapped
 * to a faithful display form (`\xNN` for every byte outside printable ASCII).
 */
function nonUtf8Names(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const raw of readdirSync(dir, {encoding: 'buffer'})) {
    if (isUtf8(raw)) continue
    let shown = ''
    for (const b of raw)
      shown += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`
    out.set(raw.toString('utf8'), shown)
  }

  return out
}

/**
 * Everything under `dir`, depth first, entries of each directory sorted by name. Temp files of
 * receipt writes (write.ts) are left out. A name that is not valid UTF-8 cannot be opened through
 * the decoded string Node gives (nor named on a command line to verify): it is reported, and a
 * directory of that name is not entered.
 */
function walk(dir: string, rel: string, out: Found[]): Found[] {
  const entries: Dirent[] = readdirSync(dir, {withFileTypes: true})
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const base = dir.endsWith(sep) ? dir : dir + sep
  // U+FFFD is how Node decodes bytes that are not UTF-8; only then are the raw names read.
  const bad = entries.some((d) => d.name.includes('\uFFFD')) ? nonUtf8Names(dir) : undefined
  for (const d of entries) {
    if (isTempName(d.name)) continue
    const shown = bad?.get(d.name)
    if (shown !== undefined) {
      out.push({abs: base + shown, rel: '', kind: 'bad name'})
      continue
    }

    const abs = base + d.name
    const r = rel === '' ? d.name : `${rel}/${d.name}`
    if (d.isDirectory()) walk(abs, r, out)
    else out.push({abs, rel: r, kind: d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'special'})
  }

  return out
}

/** Reads hashes, one per line (64 hex, checksummed hex or CB58); blank lines are ignored. */
export async function readHashes(input: Readable): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  let line = 0
  for await (const text of createInterface({input, crlfDelay: Number.POSITIVE_INFINITY})) {
    line++
    if (text.trim() === '') continue
    try {
      out.push(parsePayload(text).data)
    } catch (error) {
      if (error instanceof TsvmError)
        throw new TsvmError(error.code, `stdin line ${line}: ${error.message}`, {cause: error})
      throw error
    }
  }

  return out
}

/**
 * Collects the items named by `inputs`: files, directories (recursively, sorted; symlinks,
 * special files, existing receipts and names that are not UTF-8 skipped; temp files of receipt
 * writes left out) and '-' for hashes on stdin. A path named directly is followed even when it is
 * a symlink.
 */
export async function collectItems(
  inputs: readonly string[],
  options: CollectOptions = {},
): Promise<{items: StampItem[]; skipped: Skipped[]}> {
  const cwd = options.cwd ?? process.cwd()
  const match = compileGlobs(options.globs ?? [])
  const items: StampItem[] = []
  const skipped: Skipped[] = []
  const seenFiles = new Set<string>()
  const seenHashes = new Set<string>()
  const addFile = (abs: string, name: string) => {
    if (seenFiles.has(abs)) return skipped.push({path: abs, reason: 'duplicate'})
    seenFiles.add(abs)
    items.push({path: abs, name})
  }

  for (const input of inputs) {
    if (input === '-') {
      if (!options.stdin) throw new TsvmError('USAGE', "'-' reads hashes from stdin, but no stdin was given")
      for (const h of await readHashes(options.stdin)) {
        const hex = toHex(h)
        if (seenHashes.has(hex)) skipped.push({path: hex, reason: 'duplicate'})
        else {
          seenHashes.add(hex)
          items.push({hash: h})
        }
      }

      continue
    }

    const abs = resolve(cwd, input)
    const s = await stat(abs).catch((error: {code?: string}) => {
      if (error.code === 'ENOENT')
        throw new TsvmError('FILE_NOT_FOUND', `no such file or directory: ${input}`, {cause: error})
      throw error
    })
    if (s.isFile()) addFile(abs, nameFor(abs, abs, cwd))
    else if (s.isDirectory()) {
      // Every file under the directory is named like nameFor names it: the directory's own name
      // (relative to cwd, or its base name when outside cwd) and the path below it.
      const prefix = dirPrefix(abs, cwd)
      for (const e of walk(abs, '', [])) {
        // eslint-disable-next-line unicorn/prefer-switch -- one chain: the kind, then the name; a switch nests the last two a level deeper
        if (e.kind === 'bad name') skipped.push({path: e.abs, reason: 'name not UTF-8'})
        else if (e.kind === 'symlink') skipped.push({path: e.abs, reason: 'symlink'})
        else if (e.kind === 'special') skipped.push({path: e.abs, reason: 'special file'})
        else if (e.abs.endsWith(RECEIPT_EXT)) skipped.push({path: e.abs, reason: 'receipt'})
        else if (match(e.rel)) addFile(e.abs, prefix + e.rel)
      }
    } else skipped.push({path: abs, reason: 'special file'})
  }

  return {items, skipped}
}

/**
 * Hashes every file item (in place). Files of up to 1 MiB are read in one call, on this thread
 * and the helpers; larger files, and any a helper could not read, are then hashed here by
 * streaming (which also reports a read error in full).
 */
export async function hashItems(
  items: StampItem[],
  onProgress?: (done: number, total: number) => void,
  helpers = Helpers.none(),
  onBytes?: (done: number, total: number) => void,
): Promise<void> {
  const todo = items.filter((item) => item.hash === undefined)
  const paths = todo.map((item) => item.path!)
  const digests = new Uint8Array(new SharedArrayBuffer(paths.length * 32))
  const board = newBoard(paths.length)
  const buf = readBuffer()
  const hashHere = (i: number): boolean => {
    try {
      const digest = hashSmallFile(paths[i]!, buf)
      if (digest === undefined) return false
      digests.set(digest, i * 32)
      return true
    } catch {
      return false
    }
  }

  await helpers.run({kind: 'hash', paths, digests: digests.buffer as SharedArrayBuffer}, board, hashHere, (done) =>
    onProgress?.(done, todo.length),
  )
  let done = doneCount(board)
  const large = todo.flatMap((_, i) => (isDone(board, i) ? [] : [i]))
  // the files left are large (or unreadable): their progress is in bytes
  const sizes = onBytes && large.length > 0 ? await Promise.all(large.map((i) => fileSize(paths[i]!))) : []
  const totalBytes = sizes.reduce((a, b) => a + b, 0)
  let bytes = 0
  const counted =
    onBytes &&
    ((n: number) => {
      bytes += n
      onBytes(bytes, Math.max(totalBytes, bytes))
    })
  for (let i = 0; i < todo.length; i++) {
    if (isDone(board, i)) todo[i]!.hash = digests.slice(i * 32, (i + 1) * 32)
    else {
      todo[i]!.hash = await hashFile(paths[i]!, counted)
      onProgress?.(++done, todo.length)
    }
  }
}

/** A file's size, 0 when it cannot be read (hashFile then reports why). */
async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  )
}

/** Where each item's receipt goes: next to the file, or under outDir mirroring names; hashes by hex. */
export function receiptPaths(items: readonly StampItem[], outDir: string | undefined, cwd = process.cwd()): string[] {
  const out = resolve(cwd, outDir ?? '.')
  const paths = items.map((item) => {
    if (item.path === undefined) return join(out, toHex(item.hash!) + RECEIPT_EXT)
    if (outDir === undefined) return item.path + RECEIPT_EXT
    return join(out, ...(item.name ?? basename(item.path)).split('/')) + RECEIPT_EXT
  })
  const seen = new Map<string, number>()
  for (const [i, p] of paths.entries()) {
    const j = seen.get(p)
    if (j !== undefined) {
      throw new TsvmError(
        'INVALID_ARGUMENT',
        `two items would share the receipt ${p} (items ${j + 1} and ${i + 1}): stamp them in separate runs or drop --out`,
      )
    }

    seen.set(p, i)
  }

  return paths
}

const exists = (p: string): boolean => lstatSync(p, {throwIfNoEntry: false}) !== undefined

/**
 * Fails with RECEIPT_EXISTS when a target exists (unless force). A target whose directory does
 * not exist cannot exist either, so a fresh --out-dir costs one lstat per directory, not per file.
 */
export async function checkTargets(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return
  const dirExists = new Map<string, boolean>()
  const parentExists = (dir: string): boolean => {
    let known = dirExists.get(dir)
    if (known === undefined) {
      const up = dirname(dir)
      known = (up === dir || parentExists(up)) && exists(dir)
      dirExists.set(dir, known)
    }

    return known
  }

  const found = paths.filter((p) => parentExists(dirname(p)) && exists(p))
  if (found.length > 0) {
    throw new TsvmError(
      'RECEIPT_EXISTS',
      `${found.length} receipt${found.length === 1 ? '' : 's'} already exist${found.length === 1 ? 's' : ''} (first: ${found[0]}): pass --force to replace, or --out DIR to write elsewhere`,
      {details: {existing: found.slice(0, 20)}},
    )
  }
}

/** What the chain part of a receipt says about `chain` (receipt.ts builds it). */
export const describeChain = chainRecord

/** The accepted block holding `payload`: from a propose result, else the earliest the chain knows. */
export async function findAccepted(
  chain: Chain,
  payload: Uint8Array,
  hint: StoredBlock[] = [],
): Promise<StoredBlock | undefined> {
  const ok = (b: StoredBlock) =>
    b.status === Status.Accepted || (chain.kind === 'remote' && b.status === Status.Unknown)
  const fromHint = hint.find((b) => ok(b) && bytesEqual(b.block.data, payload))
  if (fromHint) return fromHint
  const found = (await chain.findByData(payload)).filter((b) => ok(b))
  if (found.length === 0) return undefined
  let lowest = found[0]!
  for (const c of found) if (c.block.height < lowest.block.height) lowest = c
  return lowest
}

/** How a stamp run collects, proposes and writes. */
export interface StampOptions extends CollectOptions {
  outDir?: string
  /** Wait for acceptance (default true); false writes pending receipts. */
  wait?: boolean
  timeoutMs?: number
  force?: boolean
  /**
   * Where the record of the run's receipts is kept until all are durable (pending.ts), so that a
   * kill or a write failure after acceptance loses nothing; without it, no record is kept.
   */
  pendingDir?: string
  /** Progress per phase: hashing (files; bytes of large files), writing the receipts' temp files, moving them to their names. */
  onProgress?: (phase: 'hash' | 'bytes' | 'write' | 'commit', done: number, total: number) => void
  /** Clock for createdAt (tests). */
  now?: () => Date
  /** The block time in unix seconds (embedded chain only; still verified): the chain's clock otherwise. */
  timestamp?: bigint
  /** Awaited once the payload is proposed (and the record notes the block), before any receipt is written (a test hook). */
  afterPropose?: () => Promise<void>
}

/** What a stamp run did. */
export interface StampResult {
  status: 'complete' | 'pending'
  items: number
  payload: string
  blockID: string | null
  height: string | null
  existedBy: string | null
  /** The block holding the payload, when accepted (what --json shows). */
  stored: StoredBlock | null
  receipts: Array<{name?: string; hash: string; receipt: string}>
  skipped: Skipped[]
}

/** Stamps `inputs` on `chain`: one payload, one propose, one receipt per item. */
export async function stamp(chain: Chain, inputs: readonly string[], options: StampOptions = {}): Promise<StampResult> {
  const cwd = options.cwd ?? process.cwd()
  if (options.timestamp !== undefined && chain.kind === 'remote')
    throw new TsvmError('USAGE', 'a node sets its own block times: --timestamp applies to the embedded chain only')
  const {items, skipped} = await collectItems(inputs, options)
  if (items.length === 0)
    throw new TsvmError(
      'INVALID_ARGUMENT',
      'nothing to stamp: no file matched (symlinks, special files and .tsvm receipts are skipped)',
      {details: {skipped}},
    )
  const targets = receiptPaths(items, options.outDir, cwd)
  // Nothing is spent unless every receipt can be delivered: writable destinations, no receipt
  // overwritten without force, and a place for the record of what is still to write.
  const dest = checkWritable(targets)
  try {
    await checkTargets(targets, Boolean(options.force))
  } catch (error) {
    throw withResumeHint(error, options.pendingDir)
  }

  if (options.pendingDir !== undefined) preparePendingDir(options.pendingDir)
  // Started now, the helpers load while this thread starts hashing.
  const helpers = Helpers.forItems(items.length)
  try {
    await hashItems(
      items,
      (d, t) => options.onProgress?.('hash', d, t),
      helpers,
      (d, t) => options.onProgress?.('bytes', d, t),
    )
    const hashes = items.map((i) => i.hash!)
    const tree = hashes.length > 1 ? new MerkleTree(hashes) : undefined
    const run: PendingRun = {
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      chain: {kind: chain.kind, location: chain.location},
      wait: options.wait ?? true,
      replace: Boolean(options.force),
      payload: tree ? tree.root : hashes[0]!,
      items: items.map((item, i) => ({
        hash: item.hash!,
        target: targets[i]!,
        ...(item.name === undefined ? {} : {name: item.name}),
      })),
    }
    const record = options.pendingDir === undefined ? undefined : createRecord(options.pendingDir, run)
    try {
      return {
        ...(await settle(chain, run, {
          record,
          helpers,
          dest,
          tree,
          timeoutMs: options.timeoutMs,
          timestamp: options.timestamp,
          afterPropose: options.afterPropose,
          onProgress: options.onProgress,
        })),
        skipped,
      }
    } finally {
      if (record) releaseRecord(record)
    }
  } finally {
    await helpers.close()
  }
}

/** A RECEIPT_EXISTS error with a pointer to --resume when an interrupted run may have left those receipts. */
function withResumeHint(error: unknown, pendingDir: string | undefined): unknown {
  if (!isTsvmError(error, 'RECEIPT_EXISTS') || pendingDir === undefined) return error
  const waiting = listRecords(pendingDir).filter((r) => !r.running).length
  if (waiting === 0) return error
  return new TsvmError(
    'RECEIPT_EXISTS',
    `${error.message}; ${waiting} interrupted stamp run${waiting === 1 ? ' has' : 's have'} receipts still to write: \`tsvm stamp --resume\` finishes them without a new block`,
    {
      cause: error,
      details: error.details,
    },
  )
}

/** How settle proposes, writes and reports. */
export interface SettleOptions {
  /** The run's pending-receipt record: noted with the block, removed once every receipt is durable. */
  record?: string | undefined
  helpers?: Helpers
  /** Where the receipts go (checkWritable); without it, their directories are taken to exist. */
  dest?: Destinations
  timeoutMs?: number | undefined
  /** The block time (embedded chain), as StampOptions.timestamp. */
  timestamp?: bigint | undefined
  afterPropose?: (() => Promise<void>) | undefined
  /** Finishing an interrupted run: look for the accepted block (the recorded one, else by payload) before proposing. */
  resume?: boolean
  /** The run's Merkle tree when already built (several items); built from the items otherwise. */
  tree?: MerkleTree | undefined
  /** Replace receipts that are not this run's (resume --force). */
  force?: boolean
  onProgress?: StampOptions['onProgress']
}

/**
 * Gets the run's payload accepted (proposing it unless resuming a run whose payload already is)
 * and writes every receipt of the run durably. A failure to write after acceptance is
 * RECEIPTS_INCOMPLETE when a record keeps the run: `tsvm stamp --resume` finishes it.
 */
export async function settle(
  chain: Chain,
  run: PendingRun,
  options: SettleOptions = {},
): Promise<Omit<StampResult, 'skipped'>> {
  const {record} = options
  const {payload} = run
  let stored: StoredBlock | undefined
  if (options.resume) stored = await acceptedBlock(chain, run)
  let timedOut: TsvmError | undefined
  // A --no-wait run resumed while its payload waits in the mempool is not queued twice.
  const queued = !stored && options.resume && !run.wait && (await inMempool(chain, payload))
  if (!stored && !queued) {
    try {
      const r = await chain.propose([payload], {
        accept: run.wait,
        ...(options.timeoutMs === undefined ? {} : {timeoutMs: options.timeoutMs}),
        ...(options.timestamp === undefined ? {} : {timestamp: options.timestamp}),
      })
      if (run.wait) stored = await findAccepted(chain, payload, r.accepted)
      if (record && stored) noteBlock(record, idToString(stored.block.id), stored.block.height.toString())
    } catch (error) {
      if (!isTsvmError(error, 'WAIT_TIMEOUT'))
        throw await afterFailedPropose(chain, payload, record, await timestampAdvice(chain, error))
      timedOut = error
    }
  }

  const block = stored ? receiptBlock(stored.block) : null
  const n = run.items.length
  const hashes = new Uint8Array(n * 32)
  for (const [i, it] of run.items.entries()) hashes.set(it.hash, i * 32)
  const job: WriteJob = {
    shared: {
      payload,
      block,
      chain: await describeChain(chain),
      status: block ? 'complete' : 'pending',
      createdAt: run.createdAt,
    },
    levels: n > 1 ? (options.tree ?? new MerkleTree(run.items.map((it) => it.hash))).toLevels() : null,
    hashes,
    names: run.items.map((it) => it.name),
    targets: run.items.map((it) => it.target),
    replace: run.replace || Boolean(options.force),
    ...(options.resume ? {resume: true} : {}),
  }
  await options.afterPropose?.()
  try {
    await deliverReceipts(job, options.helpers ?? Helpers.none(), options.dest, options.onProgress)
  } catch (error) {
    if (!record) throw error
    const what = stored
      ? `block ${idToString(stored.block.id)} (height ${stored.block.height}) holds the payload`
      : 'the payload was proposed'
    throw new TsvmError(
      'RECEIPTS_INCOMPLETE',
      `${what}, but its receipts could not all be written (${(error as Error).message}). Nothing is lost: ${record} holds them; fix the cause and run \`tsvm stamp --resume\`, which writes them without a new block`,
      {cause: error, details: {record, blockID: stored ? idToString(stored.block.id) : null, receipts: n}},
    )
  }

  if (record) removeRecord(record)
  if (timedOut) {
    throw new TsvmError(
      'WAIT_TIMEOUT',
      `${timedOut.message}; ${n} pending receipt(s) written: run \`tsvm upgrade\` on them once the payload is accepted`,
      {cause: timedOut},
    )
  }

  return {
    status: block ? 'complete' : 'pending',
    items: n,
    payload: toHex(payload),
    blockID: stored ? idToString(stored.block.id) : null,
    height: stored ? stored.block.height.toString() : null,
    existedBy: block ? block.time : null,
    stored: stored ?? null,
    receipts: run.items.map((it, i) => {
      const hash = toHex(it.hash)
      return it.name === undefined ? {hash, receipt: job.targets[i]!} : {name: it.name, hash, receipt: job.targets[i]!}
    }),
  }
}

/** True when `payload` waits in the chain's mempool; also when that cannot be known (a node that does not list it). */
async function inMempool(chain: Chain, payload: Uint8Array): Promise<boolean> {
  try {
    return (await chain.mempool()).some((p) => bytesEqual(p, payload))
  } catch {
    return true
  }
}

/** The accepted block of a recorded run: the one its record names, else the earliest holding its payload. */
async function acceptedBlock(chain: Chain, run: PendingRun): Promise<StoredBlock | undefined> {
  if (run.blockID !== undefined) {
    try {
      const b = await chain.getBlock(idFromString(run.blockID))
      if ((b.status === Status.Accepted || chain.kind === 'remote') && bytesEqual(b.block.data, run.payload)) return b
    } catch {
      // not on this chain (any more): look it up by payload
    }
  }

  return findAccepted(chain, run.payload)
}

/**
 * A BLOCK_TIMESTAMP_EARLY with what to pass instead: --timestamp at or after the last accepted
 * block's time, or no --timestamp (the chain then takes the later of its clock and that time).
 * CHAIN_AHEAD_OF_CLOCK already says from when blocks can be built again.
 */
async function timestampAdvice(chain: Chain, error: unknown): Promise<unknown> {
  if (!isTsvmError(error, 'BLOCK_TIMESTAMP_EARLY')) return error
  let tip
  try {
    tip = (await chain.lastAccepted()).block
  } catch {
    return error
  }

  return new TsvmError(
    error.code,
    `${error.message}: the last accepted block (height ${tip.height}) is timestamped ${tip.timestamp} (${isoTime(tip.timestamp)}); pass --timestamp ${tip.timestamp} or later, or leave --timestamp out`,
    {cause: error, details: {...error.details, tipTimestamp: tip.timestamp.toString()}},
  )
}

/**
 * The error to report when proposing failed. The record is dropped only when the chain says the
 * payload is not accepted (nothing was spent); when that cannot be known (a remote node that
 * stopped answering), it is kept and the error says how to finish.
 */
async function afterFailedPropose(
  chain: Chain,
  payload: Uint8Array,
  record: string | undefined,
  error: unknown,
): Promise<unknown> {
  if (!record) return error
  const accepted = await findAccepted(chain, payload).then(
    (b) => b !== undefined,
    () => {},
  )
  if (accepted === false && chain.kind === 'embedded') {
    removeRecord(record)
    return error
  }

  if (!isTsvmError(error)) return error
  return new TsvmError(
    error.code,
    `${error.message}; if the payload was accepted, \`tsvm stamp --resume\` writes its receipts without a new block (${record} keeps them)`,
    {
      cause: error,
      details: {...error.details, record},
    },
  )
}
