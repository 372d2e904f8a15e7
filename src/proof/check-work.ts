// The per-item work of a batch verify that needs no chain (batch.ts): hash the file, read its
// receipt and check that the receipt agrees with itself and with the file (checkReceipt). Plain
// synchronous code, so the main thread and the helper threads of threads.ts run the same; the
// anchor (the chain, or the trusted IDs) is checked afterwards on the main thread.
import {readFileSync} from 'node:fs'

import {PathFolder} from './merkle.js'
import {parseReceipt, type Receipt} from './receipt.js'
import {checkReceipt, type VerifyResult} from './verify.js'
import {hashSmallFile, readBuffer} from './work.js'

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
  return (i): ItemCheck | undefined => {
    try {
      const digest = hashSmallFile(paths[i]!, buf)
      if (digest === undefined) return
      digests.set(digest, i * 32)
      const receipt = parseReceipt(readFileSync(receipts[i]!, 'utf8'))
      const offline = checkReceipt(receipt, digest, folder)
      // the anchor check needs no path: not sending it back saves most of the copying between threads
      const merkle = receipt.merkle === null ? null : {...receipt.merkle, path: []}
      return {i, receipt: {...receipt, merkle}, offline}
    } catch {
      // left to the main thread, which reports the error in full
    }
  }
}
