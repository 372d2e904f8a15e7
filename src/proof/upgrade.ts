// Completing pending receipts: once the block holding a receipt's payload is accepted, the
// receipt gains the block and becomes complete. The new receipt is checked offline before it
// replaces the old one, and the replacement is atomic (temp file + rename).
import type {Chain} from '../chain/chain.js'
import {TsvmError} from '../vm/errors.js'
import {serializeReceipt, type Receipt} from './receipt.js'
import {describeChain, findAccepted, writeReceiptFile} from './stamp.js'
import {checkReceipt, loadReceipt, receiptBlock} from './verify.js'

/** The outcome for one receipt. */
export interface UpgradeResult {
  receipt: string
  status: 'upgraded' | 'complete' | 'pending'
  blockID?: string
  height?: string
  existedBy?: string
}

/** Completes the receipt at `path` from `chain` when its payload is accepted there; pending stays pending. */
export async function upgradeReceipt(path: string, chain: Chain): Promise<UpgradeResult> {
  const receipt = await loadReceipt(path)
  const before = checkReceipt(receipt)
  if (before.status === 'invalid') throw new TsvmError('PROOF_INVALID', `${path}: ${before.reason}`, {details: {receipt: path}})
  if (receipt.status === 'complete') {
    return {receipt: path, status: 'complete', blockID: before.blockID!, height: before.height!, existedBy: before.existedBy!}
  }
  const stored = await findAccepted(chain, receipt.payload)
  if (!stored) return {receipt: path, status: 'pending'}
  const upgraded: Receipt = {...receipt, block: receiptBlock(stored.block), chain: await describeChain(chain), status: 'complete'}
  const after = checkReceipt(upgraded)
  if (after.status !== 'verified') throw new TsvmError('INTERNAL', `${path}: the upgraded receipt does not verify: ${after.reason}`)
  await writeReceiptFile(path, serializeReceipt(upgraded), true)
  return {receipt: path, status: 'upgraded', blockID: after.blockID!, height: after.height!, existedBy: after.existedBy!}
}
