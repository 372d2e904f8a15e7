// Verifying a receipt. First, from the receipt alone (and the file or hash it is about):
//
//   item hash  -- leaf/inner hashes up merkle.path -->  payload  ==  data of block.bytes
//   sha256(block.bytes) == block.id;  height, timestamp, time agree with the bytes
//   headers: each parses, is the child of the block before it, one height up, not earlier
//
// That only shows the receipt agrees with itself: anybody can compute a block and its ID for any
// time. The time is proven only by an anchor the verifier trusts, which is what `trust` says:
//
//   anchored-chain       the block is the accepted block at its height on a chain the verifier
//                        named (--data-dir, --endpoint or their environment variables)
//   anchored-checkpoint  the block, or one of the receipt's headers above it, has an ID the
//                        verifier passed as trusted (--trust): its ID commits to every parent
//   unanchored           neither: "consistent", never "verified" (UNANCHORED, exit 3)
import {existsSync} from 'node:fs'
import {readFile, stat} from 'node:fs/promises'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {parseBlock, Status, type Block} from '../vm/block.js'
import {idToString, parsePayload, toHex} from '../vm/encoding.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {bytesEqual, sha256} from '../vm/hash.js'
import {hashFile} from './hash.js'
import {expectedSides, foldPath, type PathFolder} from './merkle.js'
import {
  isoTime,
  MAX_RECEIPT_BYTES,
  parseReceipt,
  printable,
  RECEIPT_VERSION,
  type Receipt,
  type ReceiptBlock,
  type ReceiptVersion,
} from './receipt.js'

/** What anchors a verified receipt's time, or that nothing does. */
export type Trust = 'anchored-chain' | 'anchored-checkpoint' | 'unanchored'

/** The part of a chain a verification reads. */
export type ChainReader = Pick<Chain, 'kind' | 'location' | 'identity' | 'getBlock' | 'getBlockAtHeight' | 'findByData'>

/** The outcome of a verification; `code` is the error code the CLI exits with when not verified. */
export interface VerifyResult {
  /** verified: consistent and anchored; consistent: agrees with itself, but no anchor was checked. */
  status: 'verified' | 'consistent' | 'pending' | 'not-found' | 'invalid'
  code?: 'PROOF_INVALID' | 'PENDING' | 'BLOCK_NOT_FOUND' | 'UNANCHORED' | 'CHAIN_MISMATCH'
  trust: Trust
  /** The check that failed, stable for scripts: item, payload, merkle.shape, merkle.path, block.bytes, block.id, block.data, block.height, block.timestamp, block.time, headers, chain, chain.identity, anchor. */
  check?: string
  reason?: string
  /** The item hash checked (hex). */
  item: string
  /** The file verified, as the user named it. */
  path?: string
  /** item.name as the receipt states it: not covered by the proof. */
  name?: string
  /** The block time: the item existed no later than this (ISO), when verified (anchored). */
  existedBy: string | null
  /** The time the receipt's block bytes carry (ISO), whether or not it is anchored. */
  blockTime: string | null
  blockID: string | null
  height: string | null
  /** 'offline', 'checkpoint', or the chain location the block was checked on. */
  checkedOn: string
  /** The trusted block the receipt links to (anchored-checkpoint). */
  checkpoint?: {id: string; height: string}
  /** The receipt's format version. */
  version: ReceiptVersion
  /** Receipt fields the proof does not cover: the receipt's word only. */
  uncommitted: string[]
  /** What this receipt cannot prove (a version 1 receipt does not commit its Merkle position). */
  limits?: string[]
}

/** The advice given with every unanchored result. */
export const UNANCHORED_ADVICE = 'NOT checked against any chain: pass --endpoint, --data-dir or --trust'

/** The receipt's record of a block. */
export function receiptBlock(block: Block): ReceiptBlock {
  return {
    id: block.id,
    bytes: block.bytes,
    height: block.height,
    timestamp: block.timestamp,
    time: isoTime(block.timestamp),
  }
}

/**
 * Reads and parses a receipt file (RECEIPT_INVALID when it is not one, FILE_NOT_FOUND when
 * absent; `hint` ends the not-found message). A file that is not a receipt but has one beside
 * it (<path>.tsvm) is named as the item it is.
 */
export async function loadReceipt(path: string, hint = 'stamp the item first'): Promise<Receipt> {
  const shown = printable(path)
  const s = await stat(path).catch((error: {code?: string}) => {
    if (error.code === 'ENOENT')
      throw new TsvmError('FILE_NOT_FOUND', `receipt ${shown} not found: ${hint}`, {cause: error})
    throw error
  })
  if (!s.isFile())
    throw new TsvmError('RECEIPT_INVALID', `${shown} is not a file: pass a .tsvm receipt`, {details: {field: '(file)'}})
  if (s.size > MAX_RECEIPT_BYTES) {
    throw new TsvmError(
      'RECEIPT_INVALID',
      `${shown} is ${s.size} bytes, larger than any receipt: pass a .tsvm receipt`,
      {details: {field: '(file)'}},
    )
  }

  try {
    return parseReceipt(await readFile(path, 'utf8'))
  } catch (error) {
    if (
      isTsvmError(error, 'RECEIPT_INVALID') &&
      ['(file)', 'format'].includes(String(error.details?.field)) &&
      existsSync(path + '.tsvm')
    ) {
      throw new TsvmError(
        'RECEIPT_INVALID',
        `${shown} is not a receipt, but the item of ${shown}.tsvm: pass ${shown}.tsvm`,
        {cause: error, details: {field: '(file)'}},
      )
    }

    throw error
  }
}

/** The receipt fields a verification takes on the receipt's word. */
function uncommitted(receipt: Receipt): string[] {
  const out = receipt.item.name === undefined ? [] : ['item.name']
  out.push('chain.location')
  if (receipt.chain.genesisID) out.push('chain.genesisID')
  if (receipt.chain.chainID) out.push('chain.chainID')
  out.push('createdAt')
  return out
}

/** What a receipt of this version cannot prove. */
function limits(receipt: Receipt): string[] | undefined {
  if ((receipt.version ?? RECEIPT_VERSION) !== 1 || receipt.merkle === null) return undefined
  return [
    `version 1 receipt: the Merkle position (leaf ${receipt.merkle.index} of ${receipt.merkle.leaves}) is not covered by the proof, only that the item is in the tree; new stamps write version 2, which covers it`,
  ]
}

function result(receipt: Receipt, fields: Partial<VerifyResult>): VerifyResult {
  const limit = limits(receipt)
  return {
    status: 'invalid',
    trust: 'unanchored',
    item: toHex(receipt.item.hash),
    ...(receipt.item.name === undefined ? {} : {name: receipt.item.name}),
    existedBy: null,
    blockTime: receipt.block ? blockTimeText(receipt.block.timestamp) : null,
    blockID: receipt.block ? blockIdText(receipt.block.id) : null,
    height: receipt.block ? receipt.block.height.toString() : null,
    checkedOn: 'offline',
    version: receipt.version ?? RECEIPT_VERSION,
    uncommitted: uncommitted(receipt),
    ...(limit ? {limits: limit} : {}),
    ...fields,
  }
}

// The receipts of one stamp share their block, and a batch verify checks thousands in a row: the
// last block's parse, SHA-256 and CB58 ID are kept. Each is keyed by a copy of the bytes it was
// computed from and reused only for equal bytes (or time), so the answer is always that of the value at hand.
let lastId: {id: Uint8Array; text: string} | undefined
let lastBlock: {bytes: Uint8Array; parsed: Block | Error; digest: Uint8Array} | undefined

let lastTime: {seconds: bigint; text: string} | undefined

/** isoTime(seconds), remembered for the last time. */
function blockTimeText(seconds: bigint): string {
  if (lastTime === undefined || lastTime.seconds !== seconds) lastTime = {seconds, text: isoTime(seconds)}
  return lastTime.text
}

/** idToString(id), remembered for the last ID. */
function blockIdText(id: Uint8Array): string {
  if (lastId === undefined || !bytesEqual(lastId.id, id)) lastId = {id: id.slice(), text: idToString(id)}
  return lastId.text
}

/** parseBlock(bytes) (or the error it throws) and sha256(bytes), remembered for the last bytes. */
function blockFacts(bytes: Uint8Array): {parsed: Block | Error; digest: Uint8Array} {
  if (lastBlock === undefined || !bytesEqual(lastBlock.bytes, bytes)) {
    let parsed: Block | Error
    try {
      parsed = parseBlock(bytes)
    } catch (error) {
      parsed = error as Error
    }

    lastBlock = {bytes: bytes.slice(), parsed, digest: sha256(bytes)}
  }

  return lastBlock
}

function invalid(receipt: Receipt, check: string, reason: string): VerifyResult {
  return result(receipt, {status: 'invalid', code: 'PROOF_INVALID', check, reason})
}

/**
 * Checks that a receipt agrees with itself (offline): "consistent" at best, never "verified",
 * since no anchor is looked at. `item` is the hash of the file or value being verified (when
 * omitted, the receipt's own item hash is checked for consistency only). A `folder` shared by the
 * receipts of a batch folds their Merkle paths with fewer hashes, to the same result.
 */
export function checkReceipt(receipt: Receipt, item?: Uint8Array, folder?: PathFolder): VerifyResult {
  if (item && !bytesEqual(item, receipt.item.hash)) {
    return invalid(
      receipt,
      'item',
      `the item's sha256 ${toHex(item)} differs from the receipt's item.hash ${toHex(receipt.item.hash)}: the file changed after it was stamped, or the receipt is for another item`,
    )
  }

  if (receipt.merkle === null) {
    if (!bytesEqual(receipt.item.hash, receipt.payload))
      return invalid(
        receipt,
        'payload',
        'payload differs from item.hash, and a single-item receipt stamps the item hash itself',
      )
  } else {
    const {leaves, index, path} = receipt.merkle
    const sides = expectedSides(index, leaves)
    if (sides.length !== path.length) {
      return invalid(
        receipt,
        'merkle.shape',
        `merkle.path has ${path.length} steps, but leaf ${index} of ${leaves} needs ${sides.length}: the path was shortened, extended, or index/leaves changed`,
      )
    }

    const at = sides.findIndex((s, i) => path[i]!.side !== s)
    if (at !== -1)
      return invalid(
        receipt,
        'merkle.shape',
        `merkle.path[${at}].side is ${path[at]!.side}, but leaf ${index} of ${leaves} has its sibling on side ${sides[at]}: the path was reordered, or index/leaves changed`,
      )
    const version = receipt.version ?? RECEIPT_VERSION
    const root = folder
      ? folder.fold(receipt.item.hash, path, {index, leaves}, version)
      : foldPath(receipt.item.hash, path, version === 1 ? undefined : {index, leaves})
    if (!bytesEqual(root, receipt.payload)) {
      return invalid(
        receipt,
        'merkle.path',
        'merkle.path does not lead from item.hash to the payload: a path hash, the item hash or the payload was changed',
      )
    }
  }

  if (receipt.block === null) {
    return result(receipt, {
      status: 'pending',
      code: 'PENDING',
      reason: 'the receipt is pending: no block yet; run `tsvm upgrade` on it once the payload is accepted',
    })
  }

  const rb = receipt.block
  const facts = blockFacts(rb.bytes)
  const block = facts.parsed
  if (block instanceof Error) return invalid(receipt, 'block.bytes', `block.bytes is not a block: ${block.message}`)
  if (!bytesEqual(facts.digest, rb.id))
    return invalid(
      receipt,
      'block.id',
      'block.id is not the sha256 of block.bytes: the block ID or the block bytes were changed',
    )
  if (!bytesEqual(block.data, receipt.payload))
    return invalid(
      receipt,
      'block.data',
      "the block's data is not the receipt's payload: this block does not hold this proof",
    )
  if (block.height !== rb.height)
    return invalid(
      receipt,
      'block.height',
      `block.height ${rb.height} disagrees with the height ${block.height} in block.bytes`,
    )
  if (block.timestamp !== rb.timestamp)
    return invalid(
      receipt,
      'block.timestamp',
      `block.timestamp ${rb.timestamp} disagrees with the timestamp ${block.timestamp} in block.bytes`,
    )
  if (rb.time !== blockTimeText(block.timestamp))
    return invalid(
      receipt,
      'block.time',
      `block.time ${printable(rb.time)} disagrees with the block timestamp (${isoTime(block.timestamp)})`,
    )
  const headers = checkHeaders(block, receipt.headers ?? [])
  if (headers !== undefined) return invalid(receipt, 'headers', headers)
  return result(receipt, {
    status: 'consistent',
    code: 'UNANCHORED',
    reason: `consistent with itself; ${UNANCHORED_ADVICE}`,
  })
}

/** Why the headers do not form a chain above `block`, or undefined when they do. */
function checkHeaders(block: Block, headers: readonly Uint8Array[]): string | undefined {
  let parent = block
  for (let i = 0; i < headers.length; i++) {
    let b: Block
    try {
      b = parseBlock(headers[i]!)
    } catch (error) {
      return `headers[${i}] is not a block: ${(error as Error).message}`
    }

    if (!bytesEqual(b.parentId, parent.id))
      return `headers[${i}] is not the child of the block before it (its parent ID is ${idToString(b.parentId)}, not ${idToString(parent.id)})`
    if (b.height !== parent.height + 1n) return `headers[${i}] has height ${b.height}, not ${parent.height + 1n}`
    if (b.timestamp < parent.timestamp) return `headers[${i}] is earlier than its parent, which no chain accepts`
    parent = b
  }

  return undefined
}

/** The receipt's block and headers as (ID, height), lowest first. */
function linkedBlocks(receipt: Receipt): Array<{id: Uint8Array; height: bigint}> {
  const rb = receipt.block!
  return [
    {id: rb.id, height: rb.height},
    ...(receipt.headers ?? []).map((bytes, i) => ({id: sha256(bytes), height: rb.height + 1n + BigInt(i)})),
  ]
}

/** Anchors a consistent receipt to a trusted block ID, or says why it is not anchored. */
function checkTrusted(receipt: Receipt, consistent: VerifyResult, trusted: readonly Uint8Array[]): VerifyResult {
  const linked = linkedBlocks(receipt)
  const hit = [...linked].reverse().find((b) => trusted.some((t) => bytesEqual(t, b.id)))
  if (hit) {
    const {code: _code, reason: _reason, ...rest} = consistent
    return {
      ...rest,
      status: 'verified',
      trust: 'anchored-checkpoint',
      existedBy: consistent.blockTime,
      checkedOn: 'checkpoint',
      checkpoint: {id: idToString(hit.id), height: hit.height.toString()},
    }
  }

  const top = linked.at(-1)!
  const reason =
    linked.length === 1
      ? `consistent with itself, but its block ${idToString(top.id)} is not a trusted ID and the receipt has no headers to link it to one: ` +
        'run tsvm upgrade --checkpoint <ID> on it to add headers up to a published checkpoint, or pass --endpoint or --data-dir'
      : `consistent with itself, but none of the ${linked.length} blocks it links (heights ${linked[0]!.height} to ${top.height}, top ${idToString(top.id)}) is a trusted ID: ` +
        'pass the ID of a checkpoint at or below the top, or verify against a chain with --endpoint or --data-dir'
  return {...consistent, check: 'anchor', reason}
}

function acceptedOn(chain: ChainReader, stored: StoredBlock): boolean {
  // A remote node does not report status (Unknown); what it serves is taken as accepted and
  // the height index is checked below instead.
  return stored.status === Status.Accepted || (chain.kind === 'remote' && stored.status === Status.Unknown)
}

/** Why the chain is not the one the receipt names (genesis or chain ID differ), or undefined. */
export async function identityMismatch(receipt: Receipt, chain: ChainReader): Promise<string | undefined> {
  const id = (await chain.identity?.()) ?? {}
  const where = printable(chain.location)
  const named = receipt.chain
  if (named.genesisID && id.genesisID && !bytesEqual(named.genesisID, id.genesisID)) {
    return `the receipt names a chain with genesis ${idToString(named.genesisID)}, but ${where} has genesis ${idToString(id.genesisID)}: pass the chain the item was stamped on`
  }

  if (named.chainID && id.chainID && !bytesEqual(named.chainID, id.chainID)) {
    return `the receipt names chain ${idToString(named.chainID)}, but ${where} serves chain ${idToString(id.chainID)}: pass the endpoint of the chain the item was stamped on`
  }

  return undefined
}

async function checkOnChain(receipt: Receipt, offline: VerifyResult, chain: ChainReader): Promise<VerifyResult> {
  const on = {checkedOn: chain.location}
  /** The chain refuses the receipt: no time is proved. */
  const refused = (
    status: VerifyResult['status'],
    code: NonNullable<VerifyResult['code']>,
    reason: string,
    check = 'chain',
  ): VerifyResult => ({
    ...offline,
    ...on,
    status,
    code,
    check,
    existedBy: null,
    reason,
  })
  const mismatch = await identityMismatch(receipt, chain)
  if (mismatch !== undefined) return refused('invalid', 'CHAIN_MISMATCH', mismatch, 'chain.identity')
  if (receipt.block === null) {
    const found = (await chain.findByData(receipt.payload)).filter((b) => acceptedOn(chain, b))
    if (found.length === 0) return {...offline, ...on}
    let b = found[0]!
    for (const c of found) if (c.block.height < b.block.height) b = c
    return {
      ...offline,
      ...on,
      reason: `the payload is now in accepted block ${idToString(b.block.id)} at height ${b.block.height}: run \`tsvm upgrade\` to complete the receipt`,
    }
  }

  let stored: StoredBlock
  try {
    stored = await chain.getBlock(receipt.block.id)
  } catch (error) {
    if (!isTsvmError(error, 'BLOCK_NOT_FOUND')) throw error
    return refused(
      'not-found',
      'BLOCK_NOT_FOUND',
      `block ${offline.blockID} is not known on ${printable(chain.location)}: is this the chain the item was stamped on (the receipt says ${printable(receipt.chain.location)})?`,
    )
  }

  if (!bytesEqual(stored.block.bytes, receipt.block.bytes)) {
    return refused('invalid', 'PROOF_INVALID', `the chain serves different bytes for block ${offline.blockID}`)
  }

  if (stored.status === Status.Processing) {
    return refused(
      'pending',
      'PENDING',
      `block ${offline.blockID} is still processing on ${printable(chain.location)}: not accepted yet`,
    )
  }

  if (!acceptedOn(chain, stored)) {
    return refused('invalid', 'PROOF_INVALID', `block ${offline.blockID} was rejected on ${printable(chain.location)}`)
  }

  try {
    const atHeight = await chain.getBlockAtHeight(receipt.block.height)
    if (!bytesEqual(atHeight.block.id, receipt.block.id)) {
      return refused(
        'invalid',
        'PROOF_INVALID',
        `the accepted block at height ${receipt.block.height} on ${printable(chain.location)} is ${idToString(atHeight.block.id)}, not ${offline.blockID}`,
      )
    }
  } catch (error) {
    if (isTsvmError(error, 'BLOCK_NOT_FOUND')) {
      return refused(
        'invalid',
        'PROOF_INVALID',
        `${printable(chain.location)} has no accepted block at height ${receipt.block.height}, yet knows block ${offline.blockID}`,
      )
    }

    if (!isTsvmError(error, 'REMOTE_UNSUPPORTED')) throw error
  }

  const {code: _code, reason: _reason, ...rest} = offline
  const checked = rest.uncommitted.filter((f) => f !== 'chain.genesisID' && f !== 'chain.chainID')
  return {
    ...rest,
    ...on,
    status: 'verified',
    trust: 'anchored-chain',
    existedBy: offline.blockTime,
    uncommitted: checked,
  }
}

/** What to verify a receipt against: a file, a known hash, or (neither) the receipt's own item; and the anchor. */
export interface VerifyOptions {
  file?: string
  hash?: Uint8Array
  /** Check the block on this chain (anchored-chain). */
  chain?: ChainReader
  /** Block IDs trusted as accepted (anchored-checkpoint), when no chain is given. */
  trust?: readonly Uint8Array[]
}

/** Checks a receipt, then its anchor: the chain when given, else the trusted IDs; unanchored without either. */
export async function verifyReceipt(receipt: Receipt, options: VerifyOptions = {}): Promise<VerifyResult> {
  const item = options.file === undefined ? options.hash : await hashFile(options.file)
  const checked = checkReceipt(receipt, item)
  const offline = options.file === undefined ? checked : {...checked, path: options.file}
  return anchorReceipt(receipt, offline, options)
}

/**
 * The second half of verifyReceipt: given what checkReceipt found, checks the anchor (the chain
 * when given, else the trusted IDs); an invalid or unanchored result stays as it is.
 */
export async function anchorReceipt(
  receipt: Receipt,
  offline: VerifyResult,
  options: Pick<VerifyOptions, 'chain' | 'trust'>,
): Promise<VerifyResult> {
  if (offline.status === 'invalid') return offline
  if (options.chain !== undefined) return checkOnChain(receipt, offline, options.chain)
  if (offline.status === 'consistent' && options.trust !== undefined && options.trust.length > 0)
    return checkTrusted(receipt, offline, options.trust)
  return offline
}

/** What `tsvm verify <arg>` is about: an existing file, else a 32-byte hash; and its receipt. */
export async function verifyTarget(
  arg: string,
  receipt?: string,
): Promise<{file?: string; hash?: Uint8Array; receipt: string}> {
  const s = await stat(arg).catch(() => {})
  if (s?.isFile()) {
    if (receipt === undefined && arg.endsWith('.tsvm') && !existsSync(arg + '.tsvm')) {
      const item = printable(arg.slice(0, -'.tsvm'.length))
      throw new TsvmError(
        'USAGE',
        `${printable(arg)} is a receipt: pass the item it is about (tsvm verify ${item}), or --receipt ${printable(arg)} with the item's hash`,
      )
    }

    return {file: arg, receipt: receipt ?? arg + '.tsvm'}
  }

  if (s?.isDirectory())
    throw new TsvmError(
      'INVALID_ARGUMENT',
      `${printable(arg)} is a directory: verify each file against its own receipt`,
    )
  let hash: Uint8Array
  try {
    hash = parsePayload(arg).data
  } catch {
    throw new TsvmError(
      'FILE_NOT_FOUND',
      `no such file: ${printable(arg)} (nor is it a 32-byte hash in hex or CB58): pass the stamped file or its hash`,
      {details: {path: arg}},
    )
  }

  return {hash, receipt: receipt ?? toHex(hash) + '.tsvm'}
}

/** The error a result that is not verified exits with (PROOF_INVALID, PENDING, BLOCK_NOT_FOUND, UNANCHORED, CHAIN_MISMATCH), or undefined when verified. */
export function verifyError(r: VerifyResult, details?: Record<string, unknown>): TsvmError | undefined {
  if (r.status === 'verified') return undefined
  const what = r.path === undefined ? r.item : printable(r.path)
  const message =
    r.status === 'consistent'
      ? `${what}: ${r.reason ?? `consistent with itself; ${UNANCHORED_ADVICE}`}`
      : (r.reason ?? `verification ${r.status}`)
  return new TsvmError(r.code ?? 'PROOF_INVALID', message, details ? {details} : {})
}

/** Throws the result's error (verifyError) unless it is verified; `details` go with the error (default: the result). */
export function assertVerified(r: VerifyResult, details?: Record<string, unknown>): VerifyResult {
  const error = verifyError(r, details ?? {trust: r.trust, result: r})
  if (error) throw error
  return r
}
