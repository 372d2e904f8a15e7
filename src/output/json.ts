// The --json vocabulary: one builder per result type, so every command that prints a block, a
// payload, a list or a verification prints the same shape. docs/json.md documents these types
// (field, type, meaning) and the tests check every command's --json against that page.
//
// The rules, in short: a block is always a Block (blockJson); a 32-byte payload is always
// data (checksummed hex, as getBlock prints it), dataHex and dataCB58; `bytes` is only ever a
// block's 82 bytes; a list is an object with a plural array; a plural name is always an array
// and a count is a number named ...Count; uint64/int64 values are decimal strings; every field
// is always present, null when it does not apply.
import type {StoredBlock} from '../chain/chain.js'
import type {ServeInfo} from '../node/serve.js'
import type {InstallResult} from '../plugin/install.js'
import {type BlockJson, blockJson} from '../chain/view.js'
import {errorJson, type ErrorJson} from '../errors.js'
import type {BatchEntry, BatchResult} from '../proof/batch.js'
import type {Receipt} from '../proof/receipt.js'
import {receiptToJson} from '../proof/receipt.js'
import type {ResumeResult} from '../proof/resume.js'
import type {StampResult} from '../proof/stamp.js'
import type {UpgradeResult} from '../proof/upgrade.js'
import {verifyError, type VerifyResult} from '../proof/verify.js'
import type {AdoptReport} from '../vm/adopt.js'
import {type Block, parseBlock, Status} from '../vm/block.js'
import type {CheckProblem, CheckReport} from '../vm/check.js'
import {bytesEqual} from '../vm/hash.js'
import {cb58Encode, fromHex, hexEncode, idToString, toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'

export {type BlockJson, blockJson} from '../chain/view.js'

/** The error object under --json: `{"error": {code, message, exitCode, ...details}}`. */
export type ErrorObject = ErrorJson['error']

/** A 32-byte payload in the three forms it may be proposed in. */
export interface PayloadJson {
  /** Checksummed hex (0x + 64 + 8 hex digits), as getBlock prints a block's data. */
  data: string
  dataHex: string
  dataCB58: string
}

/** A payload. */
export function payloadJson(payload: Uint8Array): PayloadJson {
  return {data: hexEncode(payload), dataHex: toHex(payload), dataCB58: cb58Encode(payload)}
}

/** Blocks as a list: get-block --data, blocks. */
export interface BlockListJson {
  blocks: BlockJson[]
}

/** A list of stored blocks. */
export function blockListJson(blocks: readonly StoredBlock[]): BlockListJson {
  return {blocks: blocks.map((b) => blockJson(b.block, b.status))}
}

/** What propose did: the accepted blocks, and after Ctrl-C the payloads it did not propose. */
export interface ProposeJson {
  queued: number
  blocks: BlockJson[]
  interrupted: boolean
  notProposed: PayloadJson[]
}

/** propose's result. */
export function proposeJson(
  queued: number,
  accepted: readonly StoredBlock[],
  notProposed: readonly Uint8Array[] = [],
  interrupted = false,
): ProposeJson {
  return {queued, ...blockListJson(accepted), interrupted, notProposed: notProposed.map((p) => payloadJson(p))}
}

/** The mempool: queued payloads in build order, then the processing blocks by height. */
export interface MempoolJson {
  payloads: Array<PayloadJson & {index: number}>
  blocks: BlockJson[]
}

/** mempool's result. */
export function mempoolJson(queued: readonly Uint8Array[], processing: readonly StoredBlock[]): MempoolJson {
  const sorted = [...processing].sort((a, b) =>
    a.block.height < b.block.height ? -1 : a.block.height > b.block.height ? 1 : 0,
  )
  return {payloads: queued.map((d, index) => ({index, ...payloadJson(d)})), ...blockListJson(sorted)}
}

/** init's result: the genesis bytes given and the genesis block. */
export interface InitJson {
  created: boolean
  dataDir: string
  genesis: string
  block: BlockJson
}

/** init's result. */
export function initJson(created: boolean, dataDir: string, genesis: Uint8Array, block: Block): InitJson {
  return {created, dataDir, genesis: toHex(genesis), block: blockJson(block, Status.Accepted)}
}

/** genesis's result: the genesis bytes, the genesis block they make, and where the bytes went. */
export interface GenesisJson {
  genesis: string
  block: BlockJson
  out: string | null
}

/** genesis's result (the block is computed, not stored: its status is not known). */
export function genesisJson(genesis: Uint8Array, block: Block, out: string | null): GenesisJson {
  return {genesis: toHex(genesis), block: blockJson(block), out}
}

/** hash's result: one row per file hashed, and the files that could not be. */
export interface HashJson {
  files: Array<PayloadJson & {path: string}>
  errors: ErrorObject[]
}

/** hash's result. */
export function hashJson(
  files: ReadonlyArray<{path: string; digest: Uint8Array}>,
  errors: readonly TsvmError[],
): HashJson {
  return {
    files: files.map((f) => ({path: f.path, ...payloadJson(f.digest)})),
    errors: errors.map((e) => errorJson(e).error),
  }
}

/** An item as a receipt states it: its hash, and the name (the receipt's word only). */
export interface ItemJson {
  hash: string
  name: string | null
}

/** A receipt written by stamp (or stamp --resume) and the item it is for. */
export interface StampedJson {
  receipt: string
  item: ItemJson
}

/** stamp's result. */
export interface StampJson {
  status: 'complete' | 'pending'
  payload: PayloadJson
  block: BlockJson | null
  receipts: StampedJson[]
  skipped: Array<{path: string; reason: string}>
}

function stampedJson(receipts: StampResult['receipts']): StampedJson[] {
  return receipts.map((r) => ({receipt: r.receipt, item: {hash: r.hash, name: r.name ?? null}}))
}

function storedJson(stored: StoredBlock | null): BlockJson | null {
  return stored ? blockJson(stored.block, stored.status) : null
}

/** stamp's result. */
export function stampJson(r: StampResult): StampJson {
  return {
    status: r.status,
    payload: payloadJson(fromHex(r.payload)),
    block: storedJson(r.stored),
    receipts: stampedJson(r.receipts),
    skipped: r.skipped.map((s) => ({path: s.path, reason: s.reason})),
  }
}

/** One run finished by stamp --resume, or found still running. */
export interface ResumedJson {
  record: string
  status: 'complete' | 'pending' | 'running'
  pid: number | null
  payload: PayloadJson | null
  block: BlockJson | null
  receipts: StampedJson[]
}

/** stamp --resume's result. */
export function resumeJson(results: readonly ResumeResult[]): {runs: ResumedJson[]} {
  return {
    runs: results.map((r) =>
      'pid' in r
        ? {record: r.record, status: r.status, pid: r.pid, payload: null, block: null, receipts: []}
        : {
            record: r.record,
            status: r.status,
            pid: null,
            payload: payloadJson(fromHex(r.payload)),
            block: storedJson(r.stored),
            receipts: stampedJson(r.receipts),
          },
    ),
  }
}

/** The result for one verified (or not) item: verify's result, and each entry of a batch. */
export interface VerificationJson {
  /** The file or hash as the user named it; null when the item was not read (info). */
  path: string | null
  receipt: string
  /**
   * missing (batch): the file has no receipt, or the receipt's file is gone; error: the item or its
   * receipt could not be read: see `error`.
   */
  status: BatchEntry['status']
  trust: VerifyResult['trust']
  item: ItemJson | null
  existedBy: string | null
  block: BlockJson | null
  checkedOn: string
  checkpoint: BlockJson | null
  version: number | null
  uncommitted: string[]
  limits: string[]
  /** The check that failed (verify's stable names: item, payload, merkle.path, block.id, ...), else null. */
  check: string | null
  /** Why the item is not verified, as the error the CLI exits with; null when verified. */
  error: ErrorObject | null
}

// The receipts of one stamp share their block, whose view costs three CB58 encodings, and a batch
// shows thousands: the last view is kept, reused only for equal bytes and status, copied for each caller.
let lastView: {bytes: Uint8Array; status: Status | undefined; json: BlockJson | null} | undefined

/** The receipt's block parsed from its bytes (null when pending or when its bytes are not a block). */
function receiptBlockJson(receipt: Receipt, status: Status | undefined): BlockJson | null {
  if (!receipt.block) return null
  const {bytes} = receipt.block
  if (lastView === undefined || lastView.status !== status || !bytesEqual(lastView.bytes, bytes)) {
    let json: BlockJson | null = null
    try {
      json = blockJson(parseBlock(bytes), status)
    } catch {
      // not a block: no view
    }

    lastView = {bytes: bytes.slice(), status, json}
  }

  return lastView.json && {...lastView.json}
}

/** The header of a receipt whose ID is `id` (the checkpoint a verification reached). */
function headerJson(receipt: Receipt, id: string): BlockJson | null {
  for (const bytes of receipt.headers ?? []) {
    try {
      const block = parseBlock(bytes)
      if (idToString(block.id) === id) return blockJson(block)
    } catch {
      // not a block: it cannot be the checkpoint
    }
  }

  return null
}

/**
 * A verification as JSON. `error` is the error the CLI exits with for this item (built by the
 * caller from the result, e.g. with assertVerified), or undefined when verified.
 */
export function verificationJson(
  r: BatchEntry | VerifyResult,
  receipt: Receipt,
  receiptPath: string,
  error?: TsvmError,
): VerificationJson {
  return {
    path: r.path ?? null,
    receipt: receiptPath,
    status: r.status,
    trust: r.trust,
    item: {hash: r.item, name: r.name ?? null},
    existedBy: r.existedBy,
    block: receiptBlockJson(receipt, r.trust === 'anchored-chain' ? Status.Accepted : undefined),
    checkedOn: r.checkedOn,
    checkpoint: r.checkpoint ? headerJson(receipt, r.checkpoint.id) : null,
    version: r.version,
    uncommitted: r.uncommitted,
    limits: r.limits ?? [],
    check: r.check ?? null,
    error: error ? errorJson(error).error : null,
  }
}

/**
 * The entry for an item that could not be checked at all: its receipt is missing or is not a
 * receipt, or the item cannot be read (a batch reports it and goes on; `error` says why).
 */
export function unverifiedJson(
  path: string | null,
  receiptPath: string,
  error: TsvmError,
  how: {status?: 'error' | 'invalid' | 'missing'; check?: string} = {},
): VerificationJson {
  return {
    path,
    receipt: receiptPath,
    status: how.status ?? 'error',
    trust: 'unanchored',
    item: null,
    existedBy: null,
    block: null,
    checkedOn: 'offline',
    checkpoint: null,
    version: null,
    uncommitted: [],
    limits: [],
    check: how.check ?? null,
    error: errorJson(error).error,
  }
}

/** A batch verify's counts per status (each name ends in Count), and the exit code of the run. */
export interface VerifySummaryJson {
  itemCount: number
  verifiedCount: number
  consistentCount: number
  pendingCount: number
  notFoundCount: number
  invalidCount: number
  missingCount: number
  errorCount: number
  exitCode: number
}

/** verify of several items: one Verification per item, as verify prints one, and the counts. */
export interface VerifyBatchJson {
  results: VerificationJson[]
  summary: VerifySummaryJson
}

/** An entry that verifyReceipt checked against a receipt it read (not a missing or unreadable one). */
const checkedEntry = (e: BatchEntry): e is BatchEntry & VerifyResult =>
  e.parsed !== undefined && e.status !== 'missing' && e.status !== 'error'

/** One entry of a batch, exactly as verify prints that item alone (its error included). */
function batchEntryJson(e: BatchEntry): VerificationJson {
  if (checkedEntry(e)) return verificationJson(e, e.parsed!, e.receipt, verifyError(e))
  const error = new TsvmError(e.code ?? 'PROOF_INVALID', e.reason ?? `verification ${e.status}`)
  // a receipt whose file is gone: what the receipt says, with the reason it is not verified
  if (e.parsed) return verificationJson(e, e.parsed, e.receipt, error)
  const status = e.status === 'missing' || e.status === 'invalid' ? e.status : 'error'
  return unverifiedJson(e.path ?? null, e.receipt, error, {status, ...(e.check ? {check: e.check} : {})})
}

/** verify's result for several items. */
export function verifyBatchJson({results, summary: s}: BatchResult): VerifyBatchJson {
  return {
    results: results.map((e) => batchEntryJson(e)),
    summary: {
      itemCount: s.items,
      verifiedCount: s.verified,
      consistentCount: s.consistent,
      pendingCount: s.pending,
      notFoundCount: s.notFound,
      invalidCount: s.invalid,
      missingCount: s.missing,
      errorCount: s.error,
      exitCode: s.exitCode,
    },
  }
}

/** info's result: the receipt as stored (docs/receipts.md) and its offline check. */
export interface ReceiptInfoJson {
  receipt: string
  contents: Record<string, unknown>
  check: VerificationJson
}

/** info's result. */
export function receiptInfoJson(
  receiptPath: string,
  receipt: Receipt,
  check: VerifyResult,
  error?: TsvmError,
): ReceiptInfoJson {
  return {
    receipt: receiptPath,
    contents: receiptToJson(receipt),
    check: verificationJson(check, receipt, receiptPath, error),
  }
}

/** One receipt upgrade answers for. */
export interface UpgradedJson {
  receipt: string
  status: UpgradeResult['status']
  block: BlockJson | null
  headerCount: number
  checkpoint: BlockJson | null
}

/** upgrade's result. */
export function upgradeJson(results: readonly UpgradeResult[]): {receipts: UpgradedJson[]} {
  return {
    receipts: results.map((u) => ({
      receipt: u.receipt,
      status: u.status,
      block: u.parsed ? blockJson(u.parsed.block, u.parsed.accepted ? Status.Accepted : undefined) : null,
      headerCount: u.headers ?? 0,
      checkpoint: u.parsed?.checkpoint ? blockJson(u.parsed.checkpoint, Status.Accepted) : null,
    })),
  }
}

/** A chain check: check's result, and the check part of adopt and repair. */
export interface CheckJson {
  ok: boolean
  blockCount: number
  lastAcceptedHeight: string
  problems: Array<{kind: string; message: string; id: string | null; height: string | null}>
}

/** A chain check's report. */
export function checkJson(report: CheckReport): CheckJson {
  return {
    ok: report.ok,
    blockCount: report.blocks,
    lastAcceptedHeight: report.lastAcceptedHeight,
    problems: report.problems.map((p: CheckProblem) => ({
      kind: p.kind,
      message: p.message,
      id: p.id ?? null,
      height: p.height ?? null,
    })),
  }
}

/** adopt's result. */
export interface AdoptJson extends CheckJson {
  dataDir: string
  adopted: {
    blockCount: number
    rejectedCount: number
    lastAcceptedHeight: string
    lastAcceptedID: string
    genesis: string
    batchCount: number
    resumed: boolean
    ms: number
  } | null
}

/** adopt's result: what was adopted (null when nothing was), then the check. */
export function adoptJson(dataDir: string, adopted: AdoptReport | undefined, check: CheckReport): AdoptJson {
  return {
    dataDir,
    adopted: adopted
      ? {
          blockCount: adopted.blocks,
          rejectedCount: adopted.rejected,
          lastAcceptedHeight: adopted.lastAcceptedHeight,
          lastAcceptedID: adopted.lastAcceptedID,
          genesis: adopted.genesisData,
          batchCount: adopted.batches,
          resumed: adopted.resumed,
          ms: adopted.ms,
        }
      : null,
    ...checkJson(check),
  }
}

/** repair's result. */
export interface RepairJson extends CheckJson {
  dataDir: string
  backup: string | null
}

/** repair's result: where the data dir as it was went, then the check of the repaired chain. */
export function repairJson(dataDir: string, backup: string | null, check: CheckReport): RepairJson {
  return {dataDir, backup, ...checkJson(check)}
}

/** encode's result: `encoded` is the static API's `bytes` (here `bytes` is only ever a block's bytes). */
export interface EncodedJson {
  encoded: string
  encoding: string
  hex: string
  length: number
}

/** encode's result. */
export function encodedJson(encoded: string, encoding: string, raw: Uint8Array): EncodedJson {
  return {encoded, encoding, hex: toHex(raw), length: raw.length}
}

/** decode's result. */
export interface DecodedJson {
  encoding: string
  hex: string
  length: number
  text: string | null
  zeroPadding: number
}

/** decode's result: the bytes, and their text when printable (then how many zero bytes follow it). */
export function decodedJson(
  encoding: string,
  bytes: Uint8Array,
  text: string | null,
  zeroPadding: number | undefined,
): DecodedJson {
  return {encoding, hex: toHex(bytes), length: bytes.length, text, zeroPadding: zeroPadding ?? 0}
}

/** serve's start line under --json (written by serve itself: the node's ServeInfo is already this shape). */
export type ServeJson = ServeInfo

/** plugin install's result; `aliases` are the VM's aliases written for the node (one list, as alias prints them). */
export type PluginInstallJson = Omit<InstallResult, 'aliases'> & {aliases: string[]}

/** plugin install's result. */
export function pluginInstallJson(result: InstallResult): PluginInstallJson {
  return {...result, aliases: result.aliases?.[result.vmID] ?? []}
}
