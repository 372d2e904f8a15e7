// Stamping: collect items (files, directory trees, or hashes from stdin), hash files, commit to
// them with one 32-byte payload (the item hash itself for one item, the Merkle root for several),
// propose that payload once, and write one receipt per item. Big runs hash and write on every
// core (threads.ts).
//
// Receipt targets are checked before anything is proposed, so a run that would overwrite a
// receipt (without force) fails before it spends a block.
import {type Dirent, lstatSync, readdirSync} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {Status} from '../vm/block.js'
import {idToString, parsePayload, toHex} from '../vm/encoding.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {bytesEqual} from '../vm/hash.js'
import {compileGlobs} from './glob.js'
import {hashFile} from './hash.js'
import {MerkleTree} from './merkle.js'
import {describeChain as chainRecord} from './receipt.js'
import {doneCount, Helpers, isDone, newBoard} from './threads.js'
import {receiptBlock} from './verify.js'
import {hashSmallFile, readBuffer, receiptWriter, type WriteJob} from './work.js'

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

/** What nameFor puts before a file's path below the directory `dirAbs`: '' or a name ending in '/'. */
function dirPrefix(dirAbs: string, cwd: string): string {
  let rel = relative(cwd, dirAbs)
  if (rel.startsWith('..') || isAbsolute(rel)) rel = relative(dirname(dirAbs), dirAbs)
  return rel === '' ? '' : rel.split(sep).join('/') + '/'
}

/** A file system entry found under a directory: its absolute path and '/'-separated path relative to it. */
interface Found {
  abs: string
  rel: string
  kind: 'file' | 'symlink' | 'special'
}

/** Everything under `dir`, depth first, entries of each directory sorted by name. */
function walk(dir: string, rel: string, out: Found[]): Found[] {
  const entries: Dirent[] = readdirSync(dir, {withFileTypes: true})
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const base = dir.endsWith(sep) ? dir : dir + sep
  for (const d of entries) {
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
      // Every file under the directory is named like nameFor names it: the directory's own name
      // (relative to cwd, or its base name when outside cwd) and the path below it.
      const prefix = dirPrefix(abs, cwd)
      for (const e of walk(abs, '', [])) {
        if (e.kind === 'symlink') skipped.push({path: e.abs, reason: 'symlink'})
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
export async function hashItems(items: StampItem[], onProgress?: (done: number, total: number) => void, helpers = Helpers.none()): Promise<void> {
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
  await helpers.run({kind: 'hash', paths, digests: digests.buffer as SharedArrayBuffer}, board, hashHere, (done) => onProgress?.(done, todo.length))
  let done = doneCount(board)
  for (let i = 0; i < todo.length; i++) {
    if (isDone(board, i)) todo[i]!.hash = digests.slice(i * 32, (i + 1) * 32)
    else {
      todo[i]!.hash = await hashFile(paths[i]!)
      onProgress?.(++done, todo.length)
    }
  }
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

/** What the chain part of a receipt says about `chain` (receipt.ts builds it). */
export const describeChain = chainRecord

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
  // Started now, the helpers load while this thread starts hashing.
  const helpers = Helpers.forItems(items.length)
  try {
    return await proposeAndWrite(chain, items, skipped, targets, helpers, options)
  } finally {
    await helpers.close()
  }
}

async function proposeAndWrite(chain: Chain, items: StampItem[], skipped: Skipped[], targets: string[], helpers: Helpers, options: StampOptions): Promise<StampResult> {
  await hashItems(items, (d, t) => options.onProgress?.('hash', d, t), helpers)
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
  const all = new Uint8Array(items.length * 32)
  hashes.forEach((h, i) => all.set(h, i * 32))
  const job: WriteJob = {
    shared: {payload, block, chain: chainInfo, status: block ? 'complete' : 'pending', createdAt},
    levels: tree ? tree.toLevels() : null,
    hashes: all,
    names: items.map((item) => item.name),
    targets,
    replace: Boolean(options.force),
  }
  const write = receiptWriter(job)
  const board = newBoard(items.length)
  const onWritten = (done: number) => options.onProgress?.('write', done, items.length)
  await helpers.run({kind: 'write', job}, board, (i) => (write(i), true), onWritten)
  // Receipts a helper did not get to (it died) are written here.
  let missed = 0
  for (let i = 0; i < items.length; i++) if (!isDone(board, i)) (write(i), missed++)
  if (missed > 0) onWritten(items.length)
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
    receipts: items.map((item, i) => {
      const hash = toHex(item.hash!)
      return item.name === undefined ? {hash, receipt: targets[i]!} : {name: item.name, hash, receipt: targets[i]!}
    }),
    skipped,
  }
}
