// Completing pending receipts: once the block holding a receipt's payload is accepted, the
// receipt gains the block and becomes complete. The new receipt is checked offline before it
// replaces the old one, and the replacement is atomic (temp file + rename).
import {existsSync} from 'node:fs'

import type {Chain} from '../chain/chain.js'
import {TsvmError} from '../vm/errors.js'
import {serializeReceipt, type Receipt, type ReceiptChain} from './receipt.js'
import {describeChain, findAccepted} from './stamp.js'
import {writeReceiptFile} from './work.js'
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
export async function upgradeReceipt(path: string, chain: Chain | undefined): Promise<UpgradeResult> {
  const receipt = await loadReceipt(path)
  const before = checkReceipt(receipt)
  if (before.status === 'invalid') throw new TsvmError('PROOF_INVALID', `${path}: ${before.reason}`, {details: {receipt: path}})
  if (receipt.status === 'complete') {
    return {receipt: path, status: 'complete', blockID: before.blockID!, height: before.height!, existedBy: before.existedBy!}
  }
  if (chain === undefined) throw new TsvmError('USAGE', `${path} is pending: a chain is needed to complete it`)
  const stored = await findAccepted(chain, receipt.payload)
  if (!stored) return {receipt: path, status: 'pending'}
  const upgraded: Receipt = {...receipt, block: receiptBlock(stored.block), chain: await describeChain(chain), status: 'complete'}
  const after = checkReceipt(upgraded)
  if (after.status !== 'verified') throw new TsvmError('INTERNAL', `${path}: the upgraded receipt does not verify: ${after.reason}`)
  writeReceiptFile(path, serializeReceipt(upgraded), true)
  return {receipt: path, status: 'upgraded', blockID: after.blockID!, height: after.height!, existedBy: after.existedBy!}
}

/**
 * Upgrades many receipts. `chainFor` gives the chain to ask for a receipt (the one it names, or
 * one given on the command line); it is called once per distinct chain a receipt names, and every
 * chain it returned is closed at the end.
 */
export async function upgradeReceipts(paths: readonly string[], chainFor: (receipt: Receipt) => Promise<Chain>): Promise<UpgradeResult[]> {
  const byLocation = new Map<string, Chain>()
  const results: UpgradeResult[] = []
  try {
    for (const path of paths) {
      const receipt = await loadReceipt(path)
      let chain: Chain | undefined
      if (receipt.status === 'pending') {
        const key = `${receipt.chain.kind} ${receipt.chain.location}`
        chain = byLocation.get(key)
        if (!chain) byLocation.set(key, (chain = await chainFor(receipt)))
      }
      results.push(await upgradeReceipt(path, chain))
    }
  } finally {
    for (const chain of new Set(byLocation.values())) await chain.close()
  }
  return results
}

/** The options unchanged when they name an endpoint or an existing data dir; NOT_INITIALIZED otherwise (so no chain is created). */
export function existingChain<T extends {dataDir?: string; endpoint?: string}>(options: T, what = 'the data dir'): T {
  if (options.endpoint === undefined && options.dataDir !== undefined && !existsSync(options.dataDir)) {
    throw new TsvmError('NOT_INITIALIZED', `${what}, ${options.dataDir}, does not exist: pass --data-dir or --endpoint for the chain the item was stamped on`)
  }
  return options
}

/** How to open the chain a receipt names; NOT_INITIALIZED when its data dir is gone (never creates one). */
export function chainOptionsFor(chain: ReceiptChain): {dataDir?: string; endpoint?: string} {
  if (chain.kind === 'remote') return {endpoint: chain.location}
  return existingChain({dataDir: chain.location}, 'the data dir the receipt names')
}
