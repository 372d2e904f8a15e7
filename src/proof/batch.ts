// Verifying many items in one run: files, directory trees (as `tsvm stamp` walked them), hashes,
// and '-' for a list of those on stdin. Each item is checked by verifyReceipt exactly as a single
// verify checks it (same trust model: anchored-chain, anchored-checkpoint or unanchored), against
// one chain opened once. Files are hashed first, on every core (threads.ts); the chain's answers
// are kept for the run, so ten thousand receipts of one block cost a few reads, not thirty thousand.
//
// Receipts are found where stamp wrote them: <file>.tsvm beside the file, or under --out at the
// name stamp gave the file (relative to the current directory, so run verify from where stamp ran,
// with the same paths). A directory is checked both ways: a file without a receipt (added after
// stamping) and a receipt without its file (deleted or renamed) are each reported as missing.
import {lstatSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative, resolve, sep} from 'node:path'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {parsePayload, toHex} from '../vm/encoding.js'
import {bytesEqual} from '../vm/hash.js'
import {type ErrorCode, fileError, isTsvmError, TsvmError} from '../vm/errors.js'
import {compileGlobs} from './glob.js'
import {parseReceipt, printable, type Receipt, type ReceiptVersion} from './receipt.js'
import {itemChecker, type ItemCheck} from './check-work.js'
import {hashFile} from './hash.js'
import {collectItems, dirPrefix, nameFor, RECEIPT_EXT, type StampItem} from './stamp.js'
import {Helpers, newBoard} from './threads.js'
import {existingChain} from './upgrade.js'
import {
  anchorReceipt,
  type ChainReader,
  checkReceipt,
  loadReceipt,
  verifyReceipt,
  type VerifyResult,
  verifyTarget,
} from './verify.js'

/** One item's outcome: a VerifyResult, or `missing` (no receipt, or no item) / `error` (could not be checked). */
export type BatchEntry = Omit<VerifyResult, 'code' | 'status' | 'version'> & {
  status: VerifyResult['status'] | 'missing' | 'error'
  code?: ErrorCode
  /** The receipt's version; null when there is no readable receipt. */
  version: ReceiptVersion | null
  /** The receipt checked (or looked for). */
  receipt: string
  /** The receipt as read (its Merkle path may be left out); absent when there is no readable receipt. */
  parsed?: Receipt
}

/** Counts per status, and the exit code of the run: the worst of its items. */
export interface BatchSummary {
  items: number
  verified: number
  consistent: number
  pending: number
  notFound: number
  invalid: number
  missing: number
  error: number
  exitCode: number
}

export interface BatchResult {
  results: BatchEntry[]
  summary: BatchSummary
}

export interface BatchOptions {
  /** Where stamp --out wrote the receipts; without it, each receipt is beside its file. */
  outDir?: string
  /** Globs for files found in directories, as stamp --glob. */
  globs?: readonly string[]
  /** Where '-' reads its list of items from. */
  stdin?: Readable
  cwd?: string
  /** Opens the chain to check each block on (anchored-chain), once for the run; closed at the end. */
  open?: () => Promise<Chain>
  /** Trusted block IDs (anchored-checkpoint), when no chain is given. */
  trust?: readonly Uint8Array[]
  onProgress?: (phase: 'hash' | 'verify', done: number, total: number) => void
  /** The exit code of an error code (the CLI's table); the run exits with the highest of its items', as sha256sum -c and tsvm hash do. */
  exitFor?: (code: ErrorCode) => number
}

/** A task: a file or hash to check against its receipt, or an entry already decided. */
type Task = {item: StampItem; shown?: string; receipt: string} | {entry: BatchEntry}

/** Reads '-': one item (a path or a hash) per line; blank lines are ignored. */
async function readList(input: Readable): Promise<string[]> {
  const out: string[] = []
  for await (const line of createInterface({input, crlfDelay: Number.POSITIVE_INFINITY}))
    if (line.trim() !== '') out.push(line)
  return out
}

/** An entry for an item that has no receipt to check, or a receipt that has no item. */
function decided(fields: Partial<BatchEntry> & Pick<BatchEntry, 'status' | 'receipt' | 'reason'>): BatchEntry {
  const {status, code, ...rest} = fields
  return {
    status,
    ...(code === undefined ? {} : {code}),
    trust: 'unanchored',
    item: '',
    existedBy: null,
    blockTime: null,
    blockID: null,
    height: null,
    checkedOn: 'offline',
    version: null,
    uncommitted: [],
    ...rest,
  }
}

/** How a path is shown: relative to cwd when inside it, else absolute. */
function shownPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs)
  return rel === '' || rel.startsWith('..') ? abs : rel
}

/** Reads and parses a receipt synchronously (many small files: the thread-pool round trips cost more than the reads). */
function readReceipt(path: string): Receipt {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const {code} = error as {code?: string}
    if (code === 'ENOENT') throw new TsvmError('FILE_NOT_FOUND', `no receipt ${printable(path)}`, {cause: error})
    if (code === 'EISDIR')
      throw new TsvmError('RECEIPT_INVALID', `${printable(path)} is a directory, not a receipt`, {
        details: {field: '(file)'},
      })
    throw fileError(error, path)
  }

  return parseReceipt(text) // refuses more than MAX_RECEIPT_BYTES
}

/** True when `path` is a directory, following symbolic links; false when it cannot be read. */
function isDirectoryAt(path: string): boolean {
  try {
    return statSync(path, {throwIfNoEntry: false})?.isDirectory() === true
  } catch {
    return false
  }
}

/**
 * Every receipt file under `dir`, as '/'-separated paths relative to it (none when `dir`, or a
 * directory under it, cannot be read), in the order readdirSync(dir, {recursive: true}) lists
 * them: breadth first, each directory as the system lists it, links to directories followed.
 * Walked here because Node 20's recursive readdir stats every entry (7x slower on 10,000 receipts).
 */
export function receiptsUnder(dir: string): string[] {
  const out: string[] = []
  const queue: Array<{abs: string; rel: string}> = [{abs: dir, rel: ''}]
  try {
    for (let q = 0; q < queue.length; q++) {
      const {abs, rel} = queue[q]!
      for (const d of readdirSync(abs, {withFileTypes: true, encoding: 'utf8'})) {
        const r = rel === '' ? d.name : `${rel}/${d.name}`
        if (d.name.endsWith(RECEIPT_EXT)) out.push(r)
        if (d.isDirectory() || (d.isSymbolicLink() && isDirectoryAt(join(abs, d.name))))
          queue.push({abs: join(abs, d.name), rel: r})
      }
    }
  } catch {
    return []
  }

  return out
}

/**
 * The tasks of one input: a file, a directory (its files, then the receipts whose file is gone),
 * a hash, or an entry saying the input is none of these.
 */
async function tasksFor(input: string, options: BatchOptions, cwd: string, seen: Set<string>): Promise<Task[]> {
  const outDir = options.outDir === undefined ? undefined : resolve(cwd, options.outDir)
  const abs = resolve(cwd, input)
  const s = lstatSync(abs, {throwIfNoEntry: false}) && statSync(abs, {throwIfNoEntry: false})
  if (s === undefined) {
    let hash: Uint8Array
    try {
      hash = parsePayload(input).data
    } catch {
      return [
        {
          entry: decided({
            status: 'missing',
            code: 'FILE_NOT_FOUND',
            check: 'item',
            path: input,
            receipt: '',
            reason: `no such file: ${printable(input)} (nor is it a 32-byte hash in hex or CB58): pass the stamped file or its hash`,
          }),
        },
      ]
    }

    const receipt = join(outDir ?? cwd, toHex(hash) + RECEIPT_EXT)
    return seen.has(receipt) ? [] : (seen.add(receipt), [{item: {hash}, receipt}])
  }

  const {items} = await collectItems([input], {cwd, ...(s.isDirectory() ? {globs: options.globs ?? []} : {})})
  const under = outDir === undefined ? undefined : perDirectory((dir) => join(outDir, ...dir.split('/')), '/', sep)
  const receiptOf = (item: StampItem) =>
    under === undefined ? item.path! + RECEIPT_EXT : under(item.name!) + RECEIPT_EXT
  const shown = perDirectory((dir) => relative(cwd, dir), sep, sep)
  const tasks: Task[] = []
  for (const item of items) {
    if (seen.has(item.path!)) continue
    seen.add(item.path!)
    const rel = shown(item.path!)
    tasks.push({item, shown: rel === '' || rel.startsWith('..') ? item.path! : rel, receipt: receiptOf(item)})
  }

  if (s.isDirectory()) tasks.push(...orphans(abs, outDir, options.globs ?? [], cwd, seen))
  return tasks
}

/**
 * `f` of paths whose last part (after `inSep`) is a plain name, computed once per directory: for
 * join and relative, f(dir + inSep + name) is f(dir) + outSep + name, and the files of a tree
 * share a few directories (each call costs microseconds). Other paths get f itself.
 */
function perDirectory(f: (path: string) => string, inSep: string, outSep: string): (path: string) => string {
  const dirs = new Map<string, string>()
  return (path) => {
    const at = path.lastIndexOf(inSep)
    const name = path.slice(at + 1)
    if (at <= 0 || name === '' || name === '.' || name === '..') return f(path)
    const dir = path.slice(0, at)
    let done = dirs.get(dir)
    if (done === undefined) dirs.set(dir, (done = f(dir)))
    return done === '' ? name : done.endsWith(outSep) ? done + name : done + outSep + name
  }
}

/** The receipts of files under `dirAbs` whose file no longer exists. */
function orphans(
  dirAbs: string,
  outDir: string | undefined,
  globs: readonly string[],
  cwd: string,
  items: ReadonlySet<string>,
): Task[] {
  const match = compileGlobs(globs)
  const base = outDir === undefined ? dirAbs : join(outDir, ...dirPrefix(dirAbs, cwd).split('/'))
  const out: Task[] = []
  for (const rel of receiptsUnder(base)) {
    const itemRel = rel.slice(0, -RECEIPT_EXT.length)
    const itemAbs = join(dirAbs, ...itemRel.split('/'))
    if (items.has(itemAbs) || !match(itemRel) || lstatSync(itemAbs, {throwIfNoEntry: false}) !== undefined) continue
    const receipt = join(base, ...rel.split('/'))
    let fields: Partial<BatchEntry> = {}
    try {
      // what the receipt says (item, block), without the outcome of a check that was not made
      const parsed = readReceipt(receipt)
      fields = {...checkReceipt(parsed), parsed}
      for (const k of ['code', 'reason', 'check', 'status'] as const) delete fields[k]
    } catch {
      // an unreadable receipt of a missing file: missing is what matters
    }

    out.push({
      entry: decided({
        ...fields,
        status: 'missing',
        code: 'FILE_NOT_FOUND',
        check: 'item',
        path: shownPath(itemAbs, cwd),
        receipt,
        reason: `${printable(shownPath(itemAbs, cwd))} has a receipt (${printable(shownPath(receipt, cwd))}) but no longer exists: it was deleted or renamed after stamping`,
      }),
    })
  }

  return out
}

type ItemTask = Extract<Task, {item: StampItem}>

const pathOf = (task: ItemTask) => (task.shown === undefined ? {} : {path: task.shown})

/**
 * The offline half of every file's check (hash the file, read and check its receipt), on this
 * thread and the helpers at once; a file left out (too large to read at once, or any error) is
 * checked by checkOne, which reports errors in full.
 */
async function checkFiles(
  tasks: readonly Task[],
  onProgress: BatchOptions['onProgress'],
): Promise<Map<Task, ItemCheck>> {
  const files = tasks.filter((t): t is ItemTask => 'item' in t && t.item.path !== undefined)
  const paths = files.map((t) => t.item.path!)
  const receipts = files.map((t) => t.receipt)
  const digests = new Uint8Array(new SharedArrayBuffer(Math.max(files.length, 1) * 32))
  const checks: Array<ItemCheck | undefined> = Array.from({length: files.length})
  const here = itemChecker(paths, receipts, digests)
  const helpers = Helpers.forItems(files.length)
  try {
    const job = {kind: 'check' as const, paths, receipts, digests: digests.buffer as SharedArrayBuffer}
    const fromHelpers = await helpers.run(
      job,
      newBoard(files.length),
      (i) => {
        checks[i] = here(i)
        return checks[i] !== undefined
      },
      (done) => onProgress?.('hash', done, files.length),
    )
    for (const c of fromHelpers as ItemCheck[]) checks[c.i] = c
  } finally {
    await helpers.close()
  }

  const out = new Map<Task, ItemCheck>()
  for (const [i, t] of files.entries()) {
    const c = checks[i]
    if (c === undefined) continue
    t.item.hash = digests.slice(i * 32, (i + 1) * 32)
    out.set(t, c)
  }

  return out
}

/**
 * checkFiles, while the chain opens (its file I/O runs off this thread); the chain's error, if it
 * fails to open, is thrown after the check, as when it was opened then. Closed if the check fails.
 */
async function checkWhileOpening(
  tasks: readonly Task[],
  options: BatchOptions,
): Promise<{checks: Map<Task, ItemCheck>; opened?: Chain}> {
  const opening = options.open?.()
  opening?.catch(() => {}) // awaited below
  let checks: Map<Task, ItemCheck>
  try {
    checks = await checkFiles(tasks, options.onProgress)
  } catch (error) {
    await opening?.then((chain) => chain.close()).catch(() => {})
    throw error
  }

  const opened = await opening
  return opened === undefined ? {checks} : {checks, opened}
}

/** Checks one item against its receipt; an error that is about this item only becomes its entry. */
async function checkOne(
  task: ItemTask,
  anchor: {chain: ChainReader} | {trust: readonly Uint8Array[]},
): Promise<BatchEntry> {
  const path = pathOf(task)
  const problem = (error: unknown, status: BatchEntry['status'], check: string): BatchEntry => {
    const e = isTsvmError(error) ? error : fileError(error, task.shown ?? task.receipt)
    const item = task.item.hash ? toHex(task.item.hash) : ''
    return decided({...path, receipt: task.receipt, item, status, code: e.code, check, reason: e.message})
  }

  if (task.item.hash === undefined) {
    try {
      task.item.hash = await hashFile(task.item.path!)
    } catch (error) {
      return problem(error, 'error', 'item')
    }
  }

  const base = {...path, receipt: task.receipt, item: toHex(task.item.hash)}
  let receipt: Receipt
  try {
    receipt = readReceipt(task.receipt)
  } catch (error) {
    if (isTsvmError(error, 'FILE_NOT_FOUND')) {
      const what = printable(task.shown ?? base.item)
      return decided({
        ...base,
        status: 'missing',
        code: 'FILE_NOT_FOUND',
        check: 'receipt',
        reason: `${what} has no receipt (${printable(shownPath(task.receipt, process.cwd()))}): it was added or renamed after stamping; stamp it, or pass the --out it was stamped with`,
      })
    }

    return problem(error, isTsvmError(error, 'RECEIPT_INVALID') ? 'invalid' : 'error', 'receipt')
  }

  const result = await verifyReceipt(receipt, {hash: task.item.hash!, ...anchor})
  return {...result, ...path, receipt: task.receipt, parsed: receipt}
}

/** A chain reader that asks the chain once per block, height or payload for the whole run. */
export function memoChain(chain: ChainReader): ChainReader {
  const cache = new Map<string, Promise<unknown>>()
  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined
    if (p === undefined) cache.set(key, (p = f()))
    return p
  }

  // the receipts of one stamp ask for the same block in a row: the last ID asked is recognised without its hex
  let last: {id: Uint8Array; answer: Promise<StoredBlock>} | undefined
  return {
    kind: chain.kind,
    location: chain.location,
    ...(chain.identity === undefined ? {} : {identity: () => once('identity', () => chain.identity!())}),
    getBlock(id) {
      if (last === undefined || !bytesEqual(last.id, id))
        last = {id: id.slice(), answer: once(`id:${toHex(id)}`, () => chain.getBlock(id))}
      return last.answer
    },
    getBlockAtHeight: (h) => once(`height:${h}`, () => chain.getBlockAtHeight(h)),
    findByData: (d) => once(`data:${toHex(d)}`, () => chain.findByData(d)),
  }
}

/**
 * The chain the user named for verify: a flag, else (without --trust) TSVM_DATA_DIR or
 * TSVM_ENDPOINT; `options` resolves them. A named data dir that does not exist is
 * NOT_INITIALIZED, never a fall-back to offline.
 */
export function namedChain<T extends {dataDir?: string; endpoint?: string}>(
  flags: {'data-dir'?: string; endpoint?: string; trust?: readonly Uint8Array[]},
  env: Record<string, string | undefined>,
  options: () => T,
): T | undefined {
  const explicit = flags['data-dir'] !== undefined || flags.endpoint !== undefined
  if (!explicit && (flags.trust !== undefined || (!env.TSVM_DATA_DIR && !env.TSVM_ENDPOINT))) return undefined
  return existingChain(options(), explicit ? 'the data dir' : 'the data dir TSVM_DATA_DIR names')
}

/** One item, as `tsvm verify <item>` has always checked it: its receipt given, under outDir, or beside it. */
export async function verifyOne(
  input: string,
  options: {receipt?: string; outDir?: string; open?: () => Promise<Chain>; trust?: readonly Uint8Array[]},
): Promise<{result: VerifyResult; receipt: Receipt; receiptPath: string}> {
  const given = options.receipt ?? (options.outDir === undefined ? undefined : receiptUnder(options.outDir, input))
  const target = await verifyTarget(input, given)
  const receipt = await loadReceipt(target.receipt, 'stamp the item first, or pass --receipt')
  if (options.open === undefined) {
    const result = await verifyReceipt(receipt, {...target, trust: options.trust ?? []})
    return {result, receipt, receiptPath: target.receipt}
  }

  const chain = await options.open()
  try {
    return {result: await verifyReceipt(receipt, {...target, chain}), receipt, receiptPath: target.receipt}
  } finally {
    await chain.close()
  }
}

/** True when `inputs` call for a batch run: several items, '-', a directory, or globs. */
export function isBatch(inputs: readonly string[], globs: readonly string[] = []): boolean {
  if (inputs.length !== 1 || inputs[0] === '-' || globs.length > 0) return true
  return statSync(inputs[0]!, {throwIfNoEntry: false})?.isDirectory() === true
}

/** The receipt stamp --out wrote for one file or hash: at the file's name relative to cwd, or <hex>.tsvm. */
export function receiptUnder(outDir: string, input: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, input)
  if (statSync(abs, {throwIfNoEntry: false})?.isFile())
    return join(resolve(cwd, outDir), ...nameFor(abs, abs, cwd).split('/')) + RECEIPT_EXT
  let hex = input
  try {
    hex = toHex(parsePayload(input).data)
  } catch {
    // not a hash either: verifyTarget says so
  }

  return join(resolve(cwd, outDir), hex + RECEIPT_EXT)
}

/** Verifies every item of `inputs` ('-' reads a list of them from stdin) in one run. */
export async function verifyBatch(inputs: readonly string[], options: BatchOptions = {}): Promise<BatchResult> {
  const cwd = options.cwd ?? process.cwd()
  const expanded: string[] = []
  for (const input of inputs) {
    if (input !== '-') expanded.push(input)
    else if (options.stdin) expanded.push(...(await readList(options.stdin)))
    else throw new TsvmError('USAGE', "'-' reads a list of items from stdin, but no stdin was given")
  }

  const seen = new Set<string>()
  const tasks: Task[] = []
  for (const input of expanded) tasks.push(...(await tasksFor(input, options, cwd, seen)))
  const {checks, opened} = await checkWhileOpening(tasks, options)
  const anchor = opened === undefined ? {trust: options.trust ?? []} : {chain: memoChain(opened)}
  const results: BatchEntry[] = []
  try {
    for (const t of tasks) {
      const c = checks.get(t)
      if ('entry' in t) results.push(t.entry)
      else if (c) {
        // a fresh result, or c.offline itself (which is this run's alone): completed in place, not copied
        const r = await anchorReceipt(c.receipt, c.offline, anchor)
        results.push(Object.assign(r, pathOf(t), {receipt: t.receipt, parsed: c.receipt}))
      } else results.push(await checkOne(t, anchor))
      if (results.length % 256 === 0 || results.length === tasks.length)
        options.onProgress?.('verify', results.length, tasks.length)
    }
  } finally {
    await opened?.close()
  }

  if (results.length === 0)
    throw new TsvmError('INVALID_ARGUMENT', 'nothing to verify: no file matched, and no receipt is missing its file')
  if (options.outDir === undefined) nameReceipts(results, cwd)
  return {results, summary: summarize(results, options.exitFor ?? (() => 1))}
}

/** Names receipts beside their items as verify of one item names them: relative to cwd (under --out they stay absolute, as there). */
function nameReceipts(results: BatchEntry[], cwd: string): void {
  for (const r of results) if (r.receipt !== '') r.receipt = shownPath(r.receipt, cwd)
}

function summarize(results: readonly BatchEntry[], exitFor: (code: ErrorCode) => number): BatchSummary {
  const s: BatchSummary = {
    items: results.length,
    verified: 0,
    consistent: 0,
    pending: 0,
    notFound: 0,
    invalid: 0,
    missing: 0,
    error: 0,
    exitCode: 0,
  }
  for (const r of results) {
    s[r.status === 'not-found' ? 'notFound' : r.status]++
    if (r.status !== 'verified') s.exitCode = Math.max(s.exitCode, exitFor(r.code ?? 'PROOF_INVALID'))
  }

  return s
}
