// The per-item work of a batch verify that needs no chain (batch.ts): hash the file, read its
// receipt and check that the receipt agrees with itself and with the file (checkReceipt). Plain
// synchronous code, so the main thread and the helper threads of threads.ts run the same; the
// anchor (the chain, or the trusted IDs) is checked afterwards on the main thread.
import {readFileSync} from 'node:fs'

import {PathFolder} from './merkle.js'
import {parseReceipt, type Receipt, type ReceiptBlock, type ReceiptChain} from './receipt.js'
import {checkReceipt, type VerifyResult} from './verify.js'
import {hashSmallFile, readBuffer} from './work.js'
import {bytesEqual} from '../vm/hash.js'

/** One item's offline outcome: the index, and the receipt (its Merkle path dropped: checked already) and the check. */
export interface ItemCheck {
  i: number
  receipt: Receipt
  offline: VerifyResult
}

/**
 * A function that checks item i: undefined when it is left to the main thread's full path (a file
 * larger than a read buffer, or any error, which the main thread then reports in full).
 * The file's digest is written to `digests` at i * 32.
 */
export function itemChecker(
  paths: readonly string[],
  receipts: readonly string[],
  digests: Uint8Array,
): (i: number) => ItemCheck | undefined {
  const buf = readBuffer()
  const folder = new PathFolder()
  const shared = sharer()
  return (i): ItemCheck | undefined => {
    try {
      const digest = hashSmallFile(paths[i]!, buf)
      if (digest === undefined) return
      digests.set(digest, i * 32)
      const receipt = parseReceipt(readFileSync(receipts[i]!, 'utf8'))
      const offline = checkReceipt(receipt, digest, folder)
      // the anchor check needs no path: not sending it back saves most of the copying between threads
      const merkle = receipt.merkle === null ? null : {...receipt.merkle, path: []}
      return shared({i, receipt: {...receipt, merkle}, offline})
    } catch {
      // left to the main thread, which reports the error in full
    }
  }
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a === b || (a !== undefined && b !== undefined && bytesEqual(a, b))

/**
 * The receipts of one stamp share their block and chain, and their checks the list of fields not
 * covered: one object per value (compared field by field), so a helper's answer carries each once
 * (the structured clone between threads keeps shared references) and the main thread holds one.
 * Nothing changes these objects after the check.
 */
function sharer(): (c: ItemCheck) => ItemCheck {
  let block: ReceiptBlock | null = null
  let chain: ReceiptChain | undefined
  let uncommitted: string[] = []
  return (c) => {
    const r = c.receipt
    if (r.block !== null) {
      const b = r.block
      if (
        block === null ||
        !(sameBytes(b.id, block.id) && sameBytes(b.bytes, block.bytes)) ||
        b.height !== block.height ||
        b.timestamp !== block.timestamp ||
        b.time !== block.time
      )
        block = b
      r.block = block
    }

    const ch = r.chain
    if (
      chain === undefined ||
      ch.kind !== chain.kind ||
      ch.location !== chain.location ||
      !sameBytes(ch.genesisID, chain.genesisID) ||
      !sameBytes(ch.chainID, chain.chainID) ||
      Object.hasOwn(ch, 'genesisID') !== Object.hasOwn(chain, 'genesisID') ||
      Object.hasOwn(ch, 'chainID') !== Object.hasOwn(chain, 'chainID')
    )
      chain = ch
    r.chain = chain
    const u = c.offline.uncommitted
    if (u.length !== uncommitted.length || u.some((f, k) => f !== uncommitted[k])) uncommitted = u
    c.offline.uncommitted = uncommitted
    return c
  }
}
