// Human text for stamp, verify, upgrade and receipt results. Colour comes from src/output.ts.
import {bad, id, ok, table, warn} from '../output.js'
import {toHex} from '../vm/encoding.js'
import type {Receipt} from './receipt.js'
import type {StampResult} from './stamp.js'
import type {UpgradeResult} from './upgrade.js'
import type {VerifyResult} from './verify.js'

/** "existed no later than ..." or why not. */
export function verifyText(r: VerifyResult): string {
  const what = r.name ?? r.item
  if (r.status === 'verified') {
    const where = r.checkedOn === 'offline' ? '' : `; accepted on ${r.checkedOn}`
    return `${ok('verified')} ${what} existed no later than ${r.existedBy} (block ${id(r.blockID!)}, height ${r.height}${where})`
  }
  const label = r.status === 'invalid' ? bad('INVALID') : warn(r.status.toUpperCase())
  return `${label} ${what}: ${r.reason}`
}

/** The summary of a stamp run. */
export function stampText(r: StampResult): string {
  const rows: Array<[string, string | undefined]> = [
    ['items', String(r.items)],
    ['payload', r.payload],
    ['status', r.status === 'complete' ? ok('complete') : warn('pending (run `tsvm upgrade` on the receipts once accepted)')],
    ['block', r.blockID === null ? undefined : id(r.blockID)],
    ['height', r.height ?? undefined],
    ['existedBy', r.existedBy ?? undefined],
    ['receipt', r.receipts.length === 1 ? r.receipts[0]!.receipt : `${r.receipts.length} receipts, e.g. ${r.receipts[0]!.receipt}`],
    ['skipped', r.skipped.length === 0 ? undefined : `${r.skipped.length} (${r.skipped.slice(0, 3).map((s) => `${s.path}: ${s.reason}`).join('; ')}${r.skipped.length > 3 ? '; ...' : ''})`],
  ]
  return table(rows)
}

/** One line per upgraded receipt. */
export function upgradeText(results: UpgradeResult[]): string {
  return results
    .map((u) => {
      if (u.status === 'pending') return `${warn('pending')}   ${u.receipt}: payload not accepted yet`
      const verb = u.status === 'upgraded' ? ok('upgraded') : 'complete'
      return `${verb}  ${u.receipt}: block ${id(u.blockID!)}, height ${u.height}, ${u.existedBy}`
    })
    .join('\n')
}

/** A readable view of a receipt and its offline check. */
export function receiptText(r: Receipt, check: VerifyResult): string {
  return table([
    ['status', r.status],
    ['item', toHex(r.item.hash)],
    ['name', r.item.name],
    ['merkle', r.merkle === null ? 'none (the item hash is the payload)' : `leaf ${r.merkle.index} of ${r.merkle.leaves}, path of ${r.merkle.path.length}`],
    ['payload', toHex(r.payload)],
    ['block', r.block ? id(check.blockID!) : undefined],
    ['height', r.block ? r.block.height.toString() : undefined],
    ['time', r.block ? `${r.block.time} (${r.block.timestamp})` : undefined],
    ['chain', `${r.chain.kind} ${r.chain.location}`],
    ['createdAt', r.createdAt],
    ['check', check.status === 'invalid' ? bad(`invalid: ${check.reason}`) : check.status === 'verified' ? ok('consistent (offline)') : warn(check.status)],
  ])
}
