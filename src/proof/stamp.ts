// Stamping: collect items (files, directory trees, or hashes from stdin), hash files with
// bounded concurrency, commit to them with one 32-byte payload (the item hash itself for one
// item, the Merkle root for several), propose that payload once, and write one receipt per item.
//
// Receipt targets are checked before anything is proposed, so a run that would overwrite a
// receipt (without force) fails before it spends a block.
import {closeSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {opendir, stat} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {Status} from '../vm/block.js'
import {idFromString, idToString, parsePayload, toHex} from '../vm/encoding.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {bytesEqual, sha256} from '../vm/hash.js'
import {compileGlobs} from './glob.js'
import {hashFile} from './hash.js'
import {MerkleTree} from './merkle.js'
import {receiptSerializer, type ReceiptChain} from './receipt.js'
import {receiptBlock} from './verify.js'

/** The receipt file extension. */
export const RECEIPT_EXT = '.tsvm'

/** Files hashed at once. */
export const HASH_CONCURRENCY = 16

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
  reason: 'symlink' | 'special file' | 'receipt' | 'duplicate'
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
function nameFor(abs: string, inputAbs: string, cwd: string): string {
  let rel = relative(cwd, abs)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) rel = relative(dirname(inputAbs), abs)
  return rel.split(sep).join('/')
}

async function* walk(dir: string): AsyncGenerator<{abs: string; kind: 'file' | 'symlink' | 'special'}> {
  const entries: Array<{name: string; dirent: import('node:fs').Dirent}> = []
  for await (const d of await opendir(dir)) entries.push({name: d.name, dirent: d})
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const {name, dirent} of entries) {
    const abs = join(dir, name)
    if (dirent.isDirectory()) yield* walk(abs)
    else if (dirent.isFile()) yield {abs, kind: 'file'}
    else if (dirent.isSymbolicLink()) yield {abs, kind: 'symlink'}
    else yield {abs, kind: 'special'}
  }
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
      if (error instanceof TsvmError) throw new TsvmError(error.code, `stdin line ${line}: ${error.message}`, {cause: error})
      throw error
    }
  }
  return out
}

/**
 * Collects the items named by `inputs`: files, directories (recursively, sorted, symlinks and
 * special files skipped, existing receipts skipped) and '-' for hashes on stdin. A path named
 * directly is followed even when it is a symlink.
 */
export async function collectItems(inputs: readonly string[], options: CollectOptions = {}): Promise<{items: StampItem[]; skipped: Skipped[]}> {
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
        else (seenHashes.add(hex), items.push({hash: h}))
      }
      continue
    }
    const abs = resolve(cwd, input)
    const s = await stat(abs).catch((error: {code?: string}) => {
      if (error.code === 'ENOENT') throw new TsvmError('FILE_NOT_FOUND', `no such file or directory: ${input}`, {cause: error})
      throw error
    })
    if (s.isFile()) addFile(abs, nameFor(abs, abs, cwd))
    else if (s.isDirectory()) {
      for await (const e of walk(abs)) {
        const rel = relative(abs, e.abs).split(sep).join('/')
        if (e.kind === 'symlink') skipped.push({path: e.abs, reason: 'symlink'})
        else if (e.kind === 'special') skipped.push({path: e.abs, reason: 'special file'})
        else if (e.abs.endsWith(RECEIPT_EXT)) skipped.push({path: e.abs, reason: 'receipt'})
        else if (match(rel)) addFile(e.abs, nameFor(e.abs, abs, cwd))
      }
    } else skipped.push({path: abs, reason: 'special file'})
  }
  return {items, skipped}
}

/** Runs `fn` over `list` with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(list: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(list.length)
  let next = 0
  const worker = async () => {
    while (next < list.length) {
      const i = next++
      out[i] = await fn(list[i]!, i)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, list.length)}, worker))
  return out
}

/** Files up to this size are read in one synchronous call: for small files the cost of a stream,
 * or of the thread-pool round trips of async fs calls, is many times the cost of hashing. */
const SMALL_FILE = 1 << 20

/** The read buffer of hashOne, reused: the read and the hash are synchronous, so no two calls share it. */
let smallBuf: Buffer | undefined

async function hashOne(path: string): Promise<Uint8Array> {
  // No fstat: read up to one byte past the small limit; a file that fills the buffer is large
  // (or grew while read) and is hashed by streaming instead.
  const fd = openSync(path, 'r')
  try {
    const buf = (smallBuf ??= Buffer.allocUnsafe(SMALL_FILE + 1))
    let n = 0
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r
    if (n <= SMALL_FILE) return sha256(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return hashFile(path)
}

/** Hashes every file item (in place), HASH_CONCURRENCY at a time. */
export async function hashItems(items: StampItem[], onProgress?: (done: number, total: number) => void): Promise<void> {
  let done = 0
  await mapLimit(items, HASH_CONCURRENCY, async (item) => {
    if (item.hash === undefined) item.hash = await hashOne(item.path!)
    onProgress?.(++done, items.length)
  })
}

/** Where each item's receipt goes: next to the file, or under outDir mirroring names; hashes by hex. */
export function receiptPaths(items: readonly StampItem[], outDir: string | undefined, cwd = process.cwd()): string[] {
  const paths = items.map((item) => {
    if (item.path === undefined) return resolve(cwd, outDir ?? '.', toHex(item.hash!) + RECEIPT_EXT)
    if (outDir === undefined) return item.path + RECEIPT_EXT
    return resolve(cwd, outDir, ...(item.name ?? basename(item.path)).split('/')) + RECEIPT_EXT
  })
  const seen = new Map<string, number>()
  paths.forEach((p, i) => {
    const j = seen.get(p)
    if (j !== undefined) {
      throw new TsvmError('INVALID_ARGUMENT', `two items would share the receipt ${p} (items ${j + 1} and ${i + 1}): stamp them in separate runs or drop --out-dir`)
    }
    seen.set(p, i)
  })
  return paths
}

/**
 * Fails with RECEIPT_EXISTS when a target exists (unless force). A target whose directory does
 * not exist cannot exist either, so a fresh --out-dir costs one lstat per directory, not per file.
 */
export async function checkTargets(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return
  const dirExists = new Map<string, boolean>()
  const exists = (p: string): boolean => lstatSync(p, {throwIfNoEntry: false}) !== undefined
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
      `${found.length} receipt${found.length === 1 ? '' : 's'} already exist${found.length === 1 ? 's' : ''} (first: ${found[0]}): pass --force to replace, or --out-dir to write elsewhere`,
      {details: {existing: found.slice(0, 20)}},
    )
  }
}

let tmpCounter = 0

/**
 * Writes a receipt. With `replace`, atomically (temp file + rename, so a reader sees the old or
 * the new receipt, never half of one); without, by exclusive create, so an existing file is
 * never touched. `dirs` caches the directories already created. Synchronous inside: receipts
 * are small and many, and async round trips would dominate.
 */
export async function writeReceiptFile(path: string, text: string, replace: boolean, dirs = new Set<string>()): Promise<void> {
  const parent = dirname(path)
  if (!dirs.has(parent)) {
    mkdirSync(parent, {recursive: true})
    dirs.add(parent)
  }
  if (!replace) {
    try {
      writeFileSync(path, text, {flag: 'wx'})
    } catch (error) {
      if ((error as {code?: string}).code === 'EEXIST') {
        throw new TsvmError('RECEIPT_EXISTS', `receipt ${path} appeared while stamping: pass --force to replace it`, {cause: error})
      }
      throw error
    }
    return
  }
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`
  writeFileSync(tmp, text, {flag: 'wx'})
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

/** What the chain part of a receipt says about `chain`. */
export async function describeChain(chain: Chain): Promise<ReceiptChain> {
  const out: ReceiptChain = {kind: chain.kind, location: chain.location}
  if (chain.kind === 'embedded') {
    try {
      out.genesisID = (await chain.getBlockAtHeight(0n)).block.id
    } catch {
      // an uninitialised chain has no genesis to name; the receipt is still valid without it
    }
  }
  const m = /\/ext\/bc\/([1-9A-HJ-NP-Za-km-z]{40,60})(?:\/|$)/.exec(chain.location)
  if (m) {
    try {
      out.chainID = idFromString(m[1]!)
    } catch {
      // an alias such as /ext/bc/timestamp: no chain ID to record
    }
  }
  return out
}

/** The accepted block holding `payload`: from a propose result, else the earliest the chain knows. */
export async function findAccepted(chain: Chain, payload: Uint8Array, hint: StoredBlock[] = []): Promise<StoredBlock | undefined> {
  const ok = (b: StoredBlock) => b.status === Status.Accepted || (chain.kind === 'remote' && b.status === Status.Unknown)
  const fromHint = hint.find((b) => ok(b) && bytesEqual(b.block.data, payload))
  if (fromHint) return fromHint
  const found = (await chain.findByData(payload)).filter(ok)
  return found.length === 0 ? undefined : found.reduce((a, c) => (c.block.height < a.block.height ? c : a))
}

/** How a stamp run collects, proposes and writes. */
export interface StampOptions extends CollectOptions {
  outDir?: string
  /** Wait for acceptance (default true); false writes pending receipts. */
  wait?: boolean
  timeoutMs?: number
  force?: boolean
  /** Progress per phase, for a progress bar. */
  onProgress?: (phase: 'hash' | 'write', done: number, total: number) => void
  /** Clock for createdAt (tests). */
  now?: () => Date
}

/** What a stamp run did. */
export interface StampResult {
  status: 'complete' | 'pending'
  items: number
  payload: string
  blockID: string | null
  height: string | null
  existedBy: string | null
  receipts: Array<{name?: string; hash: string; receipt: string}>
  skipped: Skipped[]
}

/** Stamps `inputs` on `chain`: one payload, one propose, one receipt per item. */
export async function stamp(chain: Chain, inputs: readonly string[], options: StampOptions = {}): Promise<StampResult> {
  const cwd = options.cwd ?? process.cwd()
  const {items, skipped} = await collectItems(inputs, options)
  if (items.length === 0) throw new TsvmError('INVALID_ARGUMENT', 'nothing to stamp: no file matched (symlinks, special files and .tsvm receipts are skipped)', {details: {skipped}})
  const targets = receiptPaths(items, options.outDir, cwd)
  await checkTargets(targets, Boolean(options.force))
  await hashItems(items, (d, t) => options.onProgress?.('hash', d, t))
  const hashes = items.map((i) => i.hash!)
  const tree = hashes.length > 1 ? new MerkleTree(hashes) : undefined
  const payload = tree ? tree.root : hashes[0]!

  const wait = options.wait ?? true
  let stored: StoredBlock | undefined
  let timedOut: TsvmError | undefined
  try {
    const r = await chain.propose([payload], {accept: wait, ...(options.timeoutMs === undefined ? {} : {timeoutMs: options.timeoutMs})})
    if (wait) stored = await findAccepted(chain, payload, r.accepted)
  } catch (error) {
    if (!isTsvmError(error, 'WAIT_TIMEOUT')) throw error
    timedOut = error
  }
  const chainInfo = await describeChain(chain)
  const createdAt = (options.now?.() ?? new Date()).toISOString()
  const block = stored ? receiptBlock(stored.block) : null
  let written = 0
  const dirs = new Set<string>()
  const serialize = receiptSerializer({payload, block, chain: chainInfo, status: block ? 'complete' : 'pending', createdAt})
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    const text = serialize(
      {hash: item.hash!, ...(item.name === undefined ? {} : {name: item.name})},
      tree ? {leaves: items.length, index: i, path: tree.path(i)} : null,
    )
    await writeReceiptFile(targets[i]!, text, Boolean(options.force), dirs)
    options.onProgress?.('write', ++written, items.length)
  }
  if (timedOut) {
    throw new TsvmError('WAIT_TIMEOUT', `${timedOut.message}; ${items.length} pending receipt(s) written: run \`tsvm upgrade\` on them once the payload is accepted`, {cause: timedOut})
  }
  return {
    status: block ? 'complete' : 'pending',
    items: items.length,
    payload: toHex(payload),
    blockID: stored ? idToString(stored.block.id) : null,
    height: stored ? stored.block.height.toString() : null,
    existedBy: block ? block.time : null,
    receipts: items.map((item, i) => ({...(item.name === undefined ? {} : {name: item.name}), hash: toHex(item.hash!), receipt: targets[i]!})),
    skipped,
  }
}
