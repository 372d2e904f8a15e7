// Human text for stamp, verify, upgrade and receipt results. Colour comes from src/output.ts.
// Every string taken from a receipt goes through printable() (receipt.ts): a receipt is written
// by whoever hands it over, and its text must not drive the terminal.
import {bad, id, ok, table, warn} from '../output.js'
import {idToString, toHex} from '../vm/encoding.js'
import {printable, RECEIPT_VERSION, type Receipt} from '../proof/receipt.js'
import type {BatchEntry, BatchSummary} from '../proof/batch.js'
import type {ResumeResult} from '../proof/resume.js'
import type {StampResult} from '../proof/stamp.js'
import type {UpgradeResult} from '../proof/upgrade.js'
import type {VerifyResult} from '../proof/verify.js'

/** Marks a receipt field the proof does not cover. */
const NOT_COVERED = "(the receipt's word: not covered by the proof)"
/** Marks a chain identity field: not covered by the proof, but compared with the chain verify is given. */
const IDENTITY = "(the receipt's word: verify compares it with the chain you name)"

/** "existed no later than ..." with its anchor, or why not; then any limits of the receipt. */
export function verifyText(r: VerifyResult): string {
  // The file the user named (or the hash), never item.name: no hash covers the name.
  const what = printable(r.path ?? r.item)
  let line: string
  if (r.status === 'verified') {
    const anchor =
      r.trust === 'anchored-checkpoint'
        ? `linked to trusted block ${id(r.checkpoint!.id)} at height ${r.checkpoint!.height}`
        : `accepted on ${printable(r.checkedOn)}`
    line = `${ok('verified')} ${what} existed no later than ${r.existedBy} (block ${id(r.blockID!)}, height ${r.height}; ${anchor})`
  } else {
    const label =
      r.status === 'invalid'
        ? bad('INVALID')
        : warn(r.status === 'consistent' ? 'NOT ANCHORED' : r.status.toUpperCase())
    line = `${label} ${what}: ${r.reason}`
  }

  return [line, ...(r.limits ?? []).map((l) => `${warn('limit:')} ${l}`)].join('\n')
}

/** The summary of a stamp run. */
export function stampText(r: StampResult): string {
  const rows: Array<[string, string | undefined]> = [
    ['items', String(r.items)],
    ['payload', r.payload],
    [
      'status',
      r.status === 'complete' ? ok('complete') : warn('pending (run `tsvm upgrade` on the receipts once accepted)'),
    ],
    ['block', r.blockID === null ? undefined : id(r.blockID)],
    ['height', r.height ?? undefined],
    ['existedBy', r.existedBy ?? undefined],
    [
      'receipt',
      r.receipts.length === 1
        ? r.receipts[0]!.receipt
        : `${r.receipts.length} receipts, e.g. ${r.receipts[0]!.receipt}`,
    ],
    [
      'skipped',
      r.skipped.length === 0
        ? undefined
        : `${r.skipped.length} (${r.skipped
            .slice(0, 3)
            .map((s) => `${s.path}: ${s.reason}`)
            .join('; ')}${r.skipped.length > 3 ? '; ...' : ''})`,
    ],
  ]
  return table(rows)
}

/** One line per upgraded receipt. */
export function upgradeText(results: UpgradeResult[]): string {
  return results
    .map((u) => {
      const path = printable(u.receipt)
      if (u.status === 'pending') return `${warn('pending')}   ${path}: payload not accepted yet`
      const verb = u.status === 'upgraded' ? ok('upgraded') : 'complete'
      const cp = u.checkpoint
        ? `; ${u.headers} header${u.headers === 1 ? '' : 's'} up to checkpoint ${id(u.checkpoint.id)} (height ${u.checkpoint.height}): verify with --trust ${u.checkpoint.id}`
        : ''
      return `${verb}  ${path}: block ${id(u.blockID!)}, height ${u.height}, ${u.existedBy}${cp}`
    })
    .join('\n')
}

/** The check row of `info`: what an offline look at the receipt alone can say. */
function checkCell(check: VerifyResult): string {
  if (check.status === 'invalid') return bad(`invalid: ${check.reason}`)
  if (check.status === 'pending') return warn('pending: no block yet (tsvm upgrade completes it)')
  return warn(
    'consistent with itself; the item was not read and NOTHING was checked against a chain: use tsvm verify with --endpoint, --data-dir or --trust',
  )
}

/** A readable view of a receipt and its offline check; fields the proof does not cover are marked. */
export function receiptText(r: Receipt, check: VerifyResult): string {
  const version = r.version ?? RECEIPT_VERSION
  const v1 = version === 1 && r.merkle !== null ? '; the position is not covered by the proof (version 1)' : ''
  const headers = r.headers ?? []
  const top =
    headers.length > 0 && r.block
      ? `${headers.length}, up to height ${r.block.height + BigInt(headers.length)}`
      : undefined
  return table([
    ['version', String(version)],
    ['status', r.status],
    ['item', toHex(r.item.hash)],
    ['name', r.item.name === undefined ? undefined : `${printable(r.item.name)}  ${NOT_COVERED}`],
    [
      'merkle',
      r.merkle === null
        ? 'none (the item hash is the payload)'
        : `leaf ${r.merkle.index} of ${r.merkle.leaves}, path of ${r.merkle.path.length}${v1}`,
    ],
    ['payload', toHex(r.payload)],
    ['block', r.block ? id(check.blockID!) : undefined],
    ['height', r.block ? r.block.height.toString() : undefined],
    ['time', r.block ? `${printable(r.block.time)} (${r.block.timestamp}), as the block bytes say` : undefined],
    ['headers', top],
    ['chain', `${r.chain.kind} ${printable(r.chain.location)}  ${NOT_COVERED}`],
    ['genesisID', r.chain.genesisID ? `${idToString(r.chain.genesisID)}  ${IDENTITY}` : undefined],
    ['chainID', r.chain.chainID ? `${idToString(r.chain.chainID)}  ${IDENTITY}` : undefined],
    ['createdAt', `${printable(r.createdAt)}  ${NOT_COVERED}`],
    ['check', checkCell(check)],
  ])
}

/** A line per skipped path worth one: receipts inside a stamped tree are skipped as expected. */
export function skippedNotes(skipped: StampResult['skipped']): string[] {
  return skipped.filter((s) => s.reason !== 'receipt').map((s) => `skipped ${printable(s.path)}: ${s.reason}`)
}

/** What `stamp --resume` did, one entry per recorded run. */
export function resumeText(results: ResumeResult[]): string {
  if (results.length === 0) return 'no interrupted stamp run to finish'
  return results
    .map((r) =>
      'pid' in r
        ? `${r.record}: still being written by process ${r.pid}`
        : `finished ${r.record}\n${stampText({...r, skipped: []})}`,
    )
    .join('\n')
}

/** One line per item of a batch verify: status, the file (or hash), and the time or the reason. */
export function batchLines(results: readonly BatchEntry[]): string {
  return results
    .map((r) => {
      const what = printable(r.path ?? r.item)
      if (r.status === 'verified')
        return `${ok('verified')}  ${what}  ${r.existedBy}  (block ${id(r.blockID!)}, height ${r.height})`
      const label =
        r.status === 'invalid'
          ? bad('INVALID')
          : warn(
              r.status === 'consistent' ? 'NOT ANCHORED' : r.status === 'missing' ? 'MISSING' : r.status.toUpperCase(),
            )
      return `${label}  ${what}: ${r.reason}${r.code ? ` [${r.code}]` : ''}`
    })
    .join('\n')
}

/** The closing line of a batch verify: counts per status, and what the verified items are anchored on. */
export function batchSummaryText(s: BatchSummary, chain?: string): string {
  const anchor = chain === undefined ? 'linked to a trusted block' : `accepted on ${printable(chain)}`
  const parts: Array<[number, string]> = [
    [s.verified, `${s.verified} verified${s.verified > 0 ? ` (${anchor})` : ''}`],
    [s.consistent, `${s.consistent} not anchored`],
    [s.pending, `${s.pending} pending`],
    [s.notFound, `${s.notFound} block not found`],
    [s.invalid, `${s.invalid} INVALID`],
    [s.missing, `${s.missing} missing (no receipt, or no file)`],
    [s.error, `${s.error} could not be checked`],
  ]
  const text = `${s.items} item${s.items === 1 ? '' : 's'}: ${parts
    .filter(([n]) => n > 0)
    .map(([, t]) => t)
    .join(', ')}`
  return s.exitCode === 0 ? ok(text) : s.invalid > 0 ? bad(text) : warn(text)
}
