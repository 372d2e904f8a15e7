// Verifying a receipt. Offline, from the receipt alone (and the file or hash it is about):
//
//   item hash  -- leaf/inner hashes up merkle.path -->  payload  ==  data of block.bytes
//   sha256(block.bytes) == block.id;  height, timestamp, time agree with the bytes
//
// so anyone holding the 82 block bytes can check the claim without a node. Online (a Chain is
// given), the block must also be known there and accepted: that is what ties the block time to
// the chain's consensus rather than to the receipt's word.
import {readFile, stat} from 'node:fs/promises'

import type {Chain, StoredBlock} from '../chain/chain.js'
import {parseBlock, Status, type Block} from '../vm/block.js'
import {idToString, parsePayload, toHex} from '../vm/encoding.js'
import {isTsvmError, TsvmError} from '../vm/errors.js'
import {bytesEqual, sha256} from '../vm/hash.js'
import {hashFile} from './hash.js'
import {expectedSides, foldPath} from './merkle.js'
import {isoTime, MAX_RECEIPT_BYTES, parseReceipt, type Receipt, type ReceiptBlock} from './receipt.js'

/** The outcome of a verification; `code` is the error code the CLI exits with when not verified. */
export interface VerifyResult {
  status: 'verified' | 'pending' | 'not-found' | 'invalid'
  code?: 'PROOF_INVALID' | 'PENDING' | 'BLOCK_NOT_FOUND'
  /** The check that failed, stable for scripts: item, payload, merkle.shape, merkle.path, block.bytes, block.id, block.data, block.height, block.timestamp, block.time, chain. */
  check?: string
  reason?: string
  /** The item hash checked (hex). */
  item: string
  name?: string
  /** The block time: the item existed no later than this (ISO), when verified. */
  existedBy: string | null
  blockID: string | null
  height: string | null
  /** 'offline', or the chain location the block was also checked on. */
  checkedOn: string
}

/** The receipt's record of a block. */
export function receiptBlock(block: Block): ReceiptBlock {
  return {id: block.id, bytes: block.bytes, height: block.height, timestamp: block.timestamp, time: isoTime(block.timestamp)}
}

/** Reads and parses a receipt file (RECEIPT_INVALID when it is not one, FILE_NOT_FOUND when absent). */
export async function loadReceipt(path: string): Promise<Receipt> {
  const s = await stat(path).catch((error: {code?: string}) => {
    if (error.code === 'ENOENT') throw new TsvmError('FILE_NOT_FOUND', `receipt ${path} not found: stamp the item first, or pass --receipt`, {cause: error})
    throw error
  })
  if (!s.isFile()) throw new TsvmError('RECEIPT_INVALID', `${path} is not a file: pass a .tsvm receipt`, {details: {field: '(file)'}})
  if (s.size > MAX_RECEIPT_BYTES) {
    throw new TsvmError('RECEIPT_INVALID', `${path} is ${s.size} bytes, larger than any receipt: pass a .tsvm receipt`, {details: {field: '(file)'}})
  }
  return parseReceipt(await readFile(path, 'utf8'))
}

function result(receipt: Receipt, fields: Partial<VerifyResult>): VerifyResult {
  return {
    status: 'invalid',
    item: toHex(receipt.item.hash),
    ...(receipt.item.name === undefined ? {} : {name: receipt.item.name}),
    existedBy: null,
    blockID: receipt.block ? idToString(receipt.block.id) : null,
    height: receipt.block ? receipt.block.height.toString() : null,
    checkedOn: 'offline',
    ...fields,
  }
}

function invalid(receipt: Receipt, check: string, reason: string): VerifyResult {
  return result(receipt, {status: 'invalid', code: 'PROOF_INVALID', check, reason})
}

/**
 * Checks a receipt offline. `item` is the hash of the file or value being verified (when
 * omitted, the receipt's own item hash is checked for consistency only).
 */
export function checkReceipt(receipt: Receipt, item?: Uint8Array): VerifyResult {
  if (item && !bytesEqual(item, receipt.item.hash)) {
    return invalid(
      receipt,
      'item',
      `the item's sha256 ${toHex(item)} differs from the receipt's item.hash ${toHex(receipt.item.hash)}: the file changed after it was stamped, or the receipt is for another item`,
    )
  }
  if (receipt.merkle === null) {
    if (!bytesEqual(receipt.item.hash, receipt.payload)) return invalid(receipt, 'payload', 'payload differs from item.hash, and a single-item receipt stamps the item hash itself')
  } else {
    const {leaves, index, path} = receipt.merkle
    const sides = expectedSides(index, leaves)
    if (sides.length !== path.length) {
      return invalid(receipt, 'merkle.shape', `merkle.path has ${path.length} steps, but leaf ${index} of ${leaves} needs ${sides.length}: the path was shortened, extended, or index/leaves changed`)
    }
    const at = sides.findIndex((s, i) => path[i]!.side !== s)
    if (at >= 0) return invalid(receipt, 'merkle.shape', `merkle.path[${at}].side is ${path[at]!.side}, but leaf ${index} of ${leaves} has its sibling on side ${sides[at]}: the path was reordered, or index/leaves changed`)
    if (!bytesEqual(foldPath(receipt.item.hash, path), receipt.payload)) {
      return invalid(receipt, 'merkle.path', 'merkle.path does not lead from item.hash to the payload: a path hash, the item hash or the payload was changed')
    }
  }
  if (receipt.block === null) {
    return result(receipt, {status: 'pending', code: 'PENDING', reason: 'the receipt is pending: no block yet; run `tsvm upgrade` on it once the payload is accepted'})
  }
  const rb = receipt.block
  let block: Block
  try {
    block = parseBlock(rb.bytes)
  } catch (error) {
    return invalid(receipt, 'block.bytes', `block.bytes is not a block: ${(error as Error).message}`)
  }
  if (!bytesEqual(sha256(rb.bytes), rb.id)) return invalid(receipt, 'block.id', 'block.id is not the sha256 of block.bytes: the block ID or the block bytes were changed')
  if (!bytesEqual(block.data, receipt.payload)) return invalid(receipt, 'block.data', "the block's data is not the receipt's payload: this block does not hold this proof")
  if (block.height !== rb.height) return invalid(receipt, 'block.height', `block.height ${rb.height} disagrees with the height ${block.height} in block.bytes`)
  if (block.timestamp !== rb.timestamp) return invalid(receipt, 'block.timestamp', `block.timestamp ${rb.timestamp} disagrees with the timestamp ${block.timestamp} in block.bytes`)
  if (rb.time !== isoTime(block.timestamp)) return invalid(receipt, 'block.time', `block.time ${rb.time} disagrees with the block timestamp (${isoTime(block.timestamp)})`)
  return result(receipt, {status: 'verified', existedBy: isoTime(block.timestamp)})
}

function acceptedOn(chain: Chain, stored: StoredBlock): boolean {
  // A remote node does not report status (Unknown); what it serves is taken as accepted and
  // the height index is checked below instead.
  return stored.status === Status.Accepted || (chain.kind === 'remote' && stored.status === Status.Unknown)
}

async function checkOnChain(receipt: Receipt, offline: VerifyResult, chain: Chain): Promise<VerifyResult> {
  const on = {checkedOn: chain.location}
  if (receipt.block === null) {
    const found = (await chain.findByData(receipt.payload)).filter((b) => acceptedOn(chain, b))
    if (found.length === 0) return {...offline, ...on}
    const b = found.reduce((a, c) => (c.block.height < a.block.height ? c : a))
    return {...offline, ...on, reason: `the payload is now in accepted block ${idToString(b.block.id)} at height ${b.block.height}: run \`tsvm upgrade\` to complete the receipt`}
  }
  let stored: StoredBlock
  try {
    stored = await chain.getBlock(receipt.block.id)
  } catch (error) {
    if (!isTsvmError(error, 'BLOCK_NOT_FOUND')) throw error
    return {...offline, ...on, status: 'not-found', code: 'BLOCK_NOT_FOUND', check: 'chain', existedBy: null, reason: `block ${offline.blockID} is not known on ${chain.location}: is this the chain the item was stamped on (${receipt.chain.location})?`}
  }
  if (!bytesEqual(stored.block.bytes, receipt.block.bytes)) {
    return {...offline, ...on, status: 'invalid', code: 'PROOF_INVALID', check: 'chain', existedBy: null, reason: `the chain serves different bytes for block ${offline.blockID}`}
  }
  if (stored.status === Status.Processing) {
    return {...offline, ...on, status: 'pending', code: 'PENDING', check: 'chain', existedBy: null, reason: `block ${offline.blockID} is still processing on ${chain.location}: not accepted yet`}
  }
  if (!acceptedOn(chain, stored)) {
    return {...offline, ...on, status: 'invalid', code: 'PROOF_INVALID', check: 'chain', existedBy: null, reason: `block ${offline.blockID} was rejected on ${chain.location}`}
  }
  try {
    const atHeight = await chain.getBlockAtHeight(receipt.block.height)
    if (!bytesEqual(atHeight.block.id, receipt.block.id)) {
      return {...offline, ...on, status: 'invalid', code: 'PROOF_INVALID', check: 'chain', existedBy: null, reason: `the accepted block at height ${receipt.block.height} on ${chain.location} is ${idToString(atHeight.block.id)}, not ${offline.blockID}`}
    }
  } catch (error) {
    if (isTsvmError(error, 'BLOCK_NOT_FOUND')) {
      return {...offline, ...on, status: 'invalid', code: 'PROOF_INVALID', check: 'chain', existedBy: null, reason: `${chain.location} has no accepted block at height ${receipt.block.height}, yet knows block ${offline.blockID}`}
    }
    if (!isTsvmError(error, 'REMOTE_UNSUPPORTED')) throw error
  }
  return {...offline, ...on}
}

/** What to verify a receipt against: a file, a known hash, or (neither) the receipt's own item. */
export interface VerifyOptions {
  file?: string
  hash?: Uint8Array
  /** Also check the block on this chain. */
  chain?: Chain
}

/** Verifies a receipt offline and, when a chain is given, on that chain too. */
export async function verifyReceipt(receipt: Receipt, options: VerifyOptions = {}): Promise<VerifyResult> {
  const item = options.file === undefined ? options.hash : await hashFile(options.file)
  const offline = checkReceipt(receipt, item)
  if (offline.status === 'invalid' || options.chain === undefined) return offline
  return checkOnChain(receipt, offline, options.chain)
}

/** What `tsvm verify <arg>` is about: an existing file, else a 32-byte hash; and its receipt. */
export async function verifyTarget(arg: string, receipt?: string): Promise<{file?: string; hash?: Uint8Array; receipt: string}> {
  const s = await stat(arg).catch(() => undefined)
  if (s?.isFile()) return {file: arg, receipt: receipt ?? arg + '.tsvm'}
  if (s?.isDirectory()) throw new TsvmError('INVALID_ARGUMENT', `${arg} is a directory: verify each file against its own receipt`)
  let hash: Uint8Array
  try {
    hash = parsePayload(arg).data
  } catch {
    throw new TsvmError('FILE_NOT_FOUND', `no such file: ${arg} (nor is it a 32-byte hash in hex or CB58): pass the stamped file or its hash`, {details: {path: arg}})
  }
  return {hash, receipt: receipt ?? toHex(hash) + '.tsvm'}
}

/** Throws the result's error (PROOF_INVALID, PENDING, BLOCK_NOT_FOUND) unless it is verified. */
export function assertVerified(r: VerifyResult): VerifyResult {
  if (r.status === 'verified') return r
  throw new TsvmError(r.code ?? 'PROOF_INVALID', r.reason ?? `verification ${r.status}`, {details: {result: r}})
}
