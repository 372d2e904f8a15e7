// Completing receipts. A pending receipt gains its block once its payload is accepted; any
// complete receipt can gain headers: the accepted blocks from its own block up to a later
// checkpoint block, so that anyone who trusts the checkpoint's ID can verify it offline
// (`tsvm verify --trust <ID>`). The new receipt is checked before it replaces the old one, and the
// replacement is atomic (temp file + rename).
//
// A chain is only contacted when the user names it or when it is a local data dir: an endpoint
// taken from a receipt (which anyone could have written) is never contacted on its own.
import {existsSync} from 'node:fs'

import type {Chain} from '../chain/chain.js'
import {type Block, parseBlock} from '../vm/block.js'
import {idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {bytesEqual} from '../vm/hash.js'
import {
  describeChain,
  localDataDir,
  MAX_HEADERS,
  printable,
  RECEIPT_VERSION,
  serializeReceipt,
  type Receipt,
  type ReceiptChain,
} from './receipt.js'
import {findAccepted} from './stamp.js'
import {writeReceiptFile} from './work.js'
import {checkReceipt, identityMismatch, loadReceipt, receiptBlock} from './verify.js'

/** The block to add headers up to: an accepted block's ID, or 'last' for the last accepted block. */
export type Checkpoint = Uint8Array | 'last'

/** The outcome for one receipt. */
export interface UpgradeResult {
  receipt: string
  status: 'upgraded' | 'complete' | 'pending'
  blockID?: string
  height?: string
  /** The block time the receipt now carries (proven to others only through `verify`'s anchor). */
  existedBy?: string
  /** How many headers the receipt carries after an upgrade with a checkpoint. */
  headers?: number
  /** The checkpoint the headers reach: pass its ID to `verify --trust`. */
  checkpoint?: {id: string; height: string}
  /** The receipt's block (accepted: checked on the chain by this upgrade) and the checkpoint block, for --json. */
  parsed?: {block: Block; accepted: boolean; checkpoint?: Block}
}

/** What an upgrade does besides completing pending receipts. */
export interface UpgradeOptions {
  /** Add headers from each receipt's block up to this accepted block. */
  checkpoint?: Checkpoint
}

/** The accepted blocks above the receipt's block up to the checkpoint, lowest first (checked to link). */
export async function headersTo(
  chain: Chain,
  block: {id: Uint8Array; height: bigint},
  checkpoint: Checkpoint,
): Promise<{headers: Uint8Array[]; top: Block}> {
  const where = printable(chain.location)
  const top = checkpoint === 'last' ? (await chain.lastAccepted()).block : (await chain.getBlock(checkpoint)).block
  const name = `checkpoint ${idToString(top.id)}`
  if (top.height < block.height) {
    throw new TsvmError(
      'INVALID_ARGUMENT',
      `${name} is at height ${top.height}, below the receipt's block (height ${block.height}): pick a later accepted block`,
    )
  }

  if (top.height - block.height > BigInt(MAX_HEADERS)) {
    throw new TsvmError(
      'INVALID_ARGUMENT',
      `${name} is ${top.height - block.height} blocks above the receipt's block; a receipt carries at most ${MAX_HEADERS}: pick a nearer checkpoint`,
    )
  }

  const walked: Block[] = []
  for await (const b of chain.blocks({fromHeight: top.height, limit: Number(top.height - block.height) + 1}))
    walked.push(b.block)
  if (walked.length === 0 || !bytesEqual(walked[0]!.id, top.id)) {
    throw new TsvmError(
      'INVALID_ARGUMENT',
      `${name} is not the accepted block at height ${top.height} on ${where}: pass an accepted block's ID, or last`,
    )
  }

  const bottom = walked.at(-1)!
  if (bottom.height !== block.height || !bytesEqual(bottom.id, block.id)) {
    throw new TsvmError(
      'PROOF_INVALID',
      `the receipt's block ${idToString(block.id)} is not the accepted block at height ${block.height} on ${where}: it cannot link to ${name}`,
    )
  }

  return {
    headers: walked
      .slice(0, -1)
      .reverse()
      .map((b) => b.bytes),
    top,
  }
}

/** Completes the receipt at `path` from `chain` when its payload is accepted there, and adds headers up to a checkpoint. */
export async function upgradeReceipt(
  path: string,
  chain: Chain | undefined,
  options: UpgradeOptions = {},
): Promise<UpgradeResult> {
  const shown = printable(path)
  const receipt = await loadReceipt(path)
  const before = checkReceipt(receipt)
  if (before.status === 'invalid')
    throw new TsvmError('PROOF_INVALID', `${shown}: ${before.reason}`, {details: {receipt: path}})
  if (receipt.status === 'complete' && options.checkpoint === undefined) {
    return {
      receipt: path,
      status: 'complete',
      blockID: before.blockID!,
      height: before.height!,
      existedBy: before.blockTime!,
      parsed: {block: parseBlock(receipt.block!.bytes), accepted: false},
    }
  }

  if (chain === undefined)
    throw new TsvmError(
      'USAGE',
      `${shown}: a chain is needed to ${receipt.status === 'pending' ? 'complete it' : 'add headers'}: pass --data-dir or --endpoint`,
    )
  const mismatch = await identityMismatch(receipt, chain)
  if (mismatch !== undefined) throw new TsvmError('CHAIN_MISMATCH', `${shown}: ${mismatch}`, {details: {receipt: path}})

  let upgraded: Receipt = receipt
  if (receipt.status === 'pending') {
    const stored = await findAccepted(chain, receipt.payload)
    if (!stored) return {receipt: path, status: 'pending'}
    upgraded = {...receipt, block: receiptBlock(stored.block), chain: await describeChain(chain), status: 'complete'}
  }

  const extra: Pick<UpgradeResult, 'headers' | 'checkpoint'> = {}
  let checkpointBlock: Block | undefined
  if (options.checkpoint !== undefined) {
    if ((receipt.version ?? RECEIPT_VERSION) === 1) {
      throw new TsvmError(
        'RECEIPT_INVALID',
        `${shown} is a version 1 receipt, which cannot carry headers: verify it against the chain (--endpoint or --data-dir), or stamp the item again for a version 2 receipt`,
        {
          details: {field: 'version', receipt: path},
        },
      )
    }

    const rb = upgraded.block!
    const {headers, top} = await headersTo(chain, rb, options.checkpoint)
    const {headers: _old, ...rest} = upgraded
    upgraded = headers.length === 0 ? rest : {...rest, headers}
    Object.assign(extra, {headers: headers.length, checkpoint: {id: idToString(top.id), height: top.height.toString()}})
    checkpointBlock = top
  }

  const after = checkReceipt(upgraded)
  if (after.status !== 'consistent')
    throw new TsvmError('INTERNAL', `${shown}: the upgraded receipt does not check out: ${after.reason}`)
  const text = serializeReceipt(upgraded)
  const changed = text !== serializeReceipt(receipt)
  if (changed) writeReceiptFile(path, text, true)
  return {
    receipt: path,
    status: changed ? 'upgraded' : 'complete',
    blockID: after.blockID!,
    height: after.height!,
    existedBy: after.blockTime!,
    ...extra,
    parsed: {
      block: parseBlock(upgraded.block!.bytes),
      accepted: true,
      ...(checkpointBlock ? {checkpoint: checkpointBlock} : {}),
    },
  }
}

/**
 * Upgrades many receipts. `chainFor` gives the chain to ask for a receipt (the one given on the
 * command line, or the data dir it names); it is called once per distinct chain a receipt names,
 * only for receipts that need one, and every chain it returned is closed at the end.
 */
export async function upgradeReceipts(
  paths: readonly string[],
  chainFor: (receipt: Receipt, path: string) => Promise<Chain>,
  options: UpgradeOptions = {},
): Promise<UpgradeResult[]> {
  const byLocation = new Map<string, Chain>()
  const results: UpgradeResult[] = []
  try {
    for (const path of paths) {
      const receipt = await loadReceipt(path)
      let chain: Chain | undefined
      if (receipt.status === 'pending' || options.checkpoint !== undefined) {
        const key = `${receipt.chain.kind} ${receipt.chain.location}`
        chain = byLocation.get(key)
        if (!chain) byLocation.set(key, (chain = await chainFor(receipt, path)))
      }

      results.push(await upgradeReceipt(path, chain, options))
    }
  } finally {
    for (const chain of new Set(byLocation.values())) await chain.close()
  }

  return results
}

/** The options unchanged when they name an endpoint or an existing data dir; NOT_INITIALIZED otherwise (so no chain is created). */
export function existingChain<T extends {dataDir?: string; endpoint?: string}>(options: T, what = 'the data dir'): T {
  if (options.endpoint === undefined && options.dataDir !== undefined && !existsSync(options.dataDir)) {
    throw new TsvmError(
      'NOT_INITIALIZED',
      `${what}, ${printable(options.dataDir)}, does not exist: pass --data-dir or --endpoint for the chain the item was stamped on`,
    )
  }

  return options
}

/**
 * How to open the chain a receipt names when the user named none: its data dir (NOT_INITIALIZED
 * when gone; never created). An endpoint from a receipt is refused (USAGE): the user confirms it
 * by passing it with --endpoint or TSVM_ENDPOINT.
 */
export function chainOptionsFor(
  chain: ReceiptChain,
  receiptPath = 'the receipt',
): {dataDir?: string; endpoint?: string} {
  if (chain.kind === 'remote') {
    const url = printable(chain.location)
    throw new TsvmError(
      'USAGE',
      `${printable(receiptPath)} names the endpoint ${url}; tsvm does not contact an endpoint taken from a receipt on its own: pass --endpoint ${url} (or set TSVM_ENDPOINT) if you trust it`,
      {details: {endpoint: chain.location}},
    )
  }

  return existingChain({dataDir: localDataDir(chain.location)}, 'the data dir the receipt names')
}
