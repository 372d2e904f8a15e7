// Human formatting of result objects. The only module that imports chalk. Colour: chalk detects
// the terminal (off when the stream is not a TTY or TERM=dumb, FORCE_COLOR forces it either way),
// but chalk 5 does not read NO_COLOR: setColor() adds NO_COLOR and --color/--no-color on top.
// eslint-disable-next-line unicorn/import-style -- chalkStderr and the supportsColor objects are chalk's named exports only
import chalk, {type ColorSupportLevel, chalkStderr, supportsColor, supportsColorStderr} from 'chalk'

import {type BlockJson, blockRow} from './chain/view.js'
import {type Block, Status, STATUS_NAMES} from './vm/block.js'
import {idsToCb58Into} from './vm/encoding.js'
import type {TsvmError} from './vm/errors.js'
import type {BlockRun} from './vm/run.js'

/**
 * The colour level of one stream: `detected` is chalk's level for it (terminal, TERM,
 * FORCE_COLOR). NO_COLOR with any non-empty value turns colour off (no-color.org), unless
 * FORCE_COLOR is set, which wins as it does for Node itself. The --color/--no-color flag
 * (`flag`) wins over both: --no-color is plain text, --color at least 16 colours, even piped.
 */
export function colorLevel(
  detected: ColorSupportLevel,
  env: Record<string, string | undefined>,
  flag?: boolean,
): ColorSupportLevel {
  if (flag === false) return 0
  if (flag === true) return detected === 0 ? 1 : detected
  if (env.NO_COLOR && env.FORCE_COLOR === undefined) return 0
  return detected
}

/** Sets the colour of stdout and stderr output from the environment and the --color/--no-color flag (undefined when not given). */
export function setColor(flag?: boolean): void {
  chalk.level = colorLevel(supportsColor ? supportsColor.level : 0, process.env, flag)
  chalkStderr.level = colorLevel(supportsColorStderr ? supportsColorStderr.level : 0, process.env, flag)
}

setColor()

/** A `label  value` table with aligned labels. */
export function table(rows: Array<[string, string | undefined]>): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined)
  const width = Math.max(0, ...shown.map(([k]) => k.length))
  return shown.map(([k, v]) => `${chalk.dim(k.padEnd(width))}  ${v}`).join('\n')
}

/** Highlights an identifier (IDs, hashes) in human output. */
export function id(text: string): string {
  return chalk.cyan(text)
}

/** A success line. */
export function ok(text: string): string {
  return chalk.green(text)
}

/** A warning line (for stderr). */
export function warn(text: string): string {
  return chalk.yellow(text)
}

/** A failure line. */
export function bad(text: string): string {
  return chalk.red(text)
}

/** The human form of an error, for stderr. */
export function formatError(err: TsvmError): string {
  return `${chalkStderr.red('Error:')} ${err.message} ${chalkStderr.dim(`[${err.code}]`)}`
}

/** A block's JSON view as a table (parse-block, get-block, ...). */
export function blockTable(view: Omit<BlockJson, 'bytes'> & {bytes?: string}): string {
  return table([
    ['id', chalk.cyan(view.id)],
    ['status', view.status ?? undefined],
    ['parentID', view.parentID],
    ['height', view.height],
    ['timestamp', `${view.timestamp} (${view.time ?? 'outside the representable date range'})`],
    ['data', view.data],
    ['dataHex', view.dataHex],
    ['dataCB58', view.dataCB58],
    ['bytes', view.bytes],
  ])
}

/** Rows of columns separated by two spaces, each column padded to its widest cell (the last one is not). */
export function columns(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length)
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n')
}

/** Text for a table cell: as is, or JSON-quoted when it holds line breaks or tabs (or is empty) so the row stays one line. */
export function textCell(text: string): string {
  return text === '' || /[\n\r\t]/.test(text) ? JSON.stringify(text) : text
}

/** One line per block: height, ID, status (when known) and payload hex, in aligned columns. */
export function blockLines(
  views: Array<{id: string; height: string; dataHex: string; status?: string | null}>,
): string {
  const withStatus = views.every((v) => v.status)
  if (!withStatus && views.some((v) => v.status)) {
    return columns(views.map((v) => [v.height, chalk.cyan(v.id), ...(v.status ? [v.status] : []), v.dataHex]))
  }

  // Every row has the same columns (propose prints thousands per group): what columns() lays
  // out, without an array per row and per cell.
  const ids = views.map((v) => chalk.cyan(v.id))
  let hw = 0
  let iw = 0
  let sw = 0
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!
    if (v.height.length > hw) hw = v.height.length
    if (ids[i]!.length > iw) iw = ids[i]!.length
    if (withStatus && v.status!.length > sw) sw = v.status!.length
  }

  let out = ''
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!
    if (i > 0) out += '\n'
    out +=
      v.height.padEnd(hw) +
      '  ' +
      ids[i]!.padEnd(iw) +
      '  ' +
      (withStatus ? v.status!.padEnd(sw) + '  ' : '') +
      v.dataHex
  }

  return out
}

const HEX_CODES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0))

/**
 * blockLines of stored blocks, the form `propose` prints thousands of per group: when they all
 * have one status the table is written byte by byte into one buffer (no row objects or per-cell
 * strings; the IDs go in as CB58 digits), with the same columns, padding and colour as blockLines.
 */
export function storedBlockLines(blocks: ReadonlyArray<{block: Block; status: Status}>): string {
  if (blocks.length === 0) return ''
  const {status} = blocks[0]!
  if (blocks.some((b) => b.status !== status)) return blockLines(blocks.map((b) => blockRow(b.block, b.status)))
  const ids = new Uint8Array(32 * blocks.length)
  const data = new Uint8Array(32 * blocks.length)
  for (let i = 0; i < blocks.length; i++) {
    ids.set(blocks[i]!.block.id, 32 * i)
    data.set(blocks[i]!.block.data, 32 * i)
  }

  const heights = blocks.map((b) => b.block.height.toString())
  let hw = 0
  for (const h of heights) if (h.length > hw) hw = h.length
  const height = (i: number, out: Uint8Array, at: number) => {
    const h = heights[i]!
    for (let k = 0; k < h.length; k++) out[at + k] = h.charCodeAt(k)
  }

  const rows = sameStatusLines(blocks.length, STATUS_NAMES[status], {height, hw, ids, data})
  return rows.toString('latin1', 0, rows.length - 1)
}

/**
 * storedBlockLines of a run of accepted blocks, read from the run's buffers, as ASCII bytes
 * with a newline after the last line too (none for no blocks): for writing out as they are.
 */
export function blockRunLines(run: BlockRun): Uint8Array {
  if (run.length === 0) return new Uint8Array(0)
  // The heights count up from the first: its decimal digits, right-aligned in `digits`, are
  // copied and then incremented in place for each row (a carry past the first digit adds one).
  const digits = new Uint8Array(20) // 2^64 - 1 has 20
  const first = run.firstHeight.toString()
  let from = digits.length - first.length
  for (let k = 0; k < first.length; k++) digits[from + k] = first.charCodeAt(k)
  const height = (_: number, out: Uint8Array, at: number) => {
    for (let k = from; k < digits.length; k++) out[at + k - from] = digits[k]!
    let k = digits.length - 1
    while (k >= from && digits[k] === 57) digits[k--] = 48
    if (k >= from) digits[k]!++
    else if (from > 0) digits[--from] = 49
  }

  // Heights only grow: the last is the widest. The payload is at 50..82 of each block's 82 codec bytes.
  const hw = (run.firstHeight + BigInt(run.length - 1)).toString().length
  return sameStatusLines(run.length, STATUS_NAMES[Status.Accepted], {
    height,
    hw,
    ids: run.ids,
    data: run.bytes,
    dataAt: 50,
    dataStride: 82,
  })
}

/**
 * The cells of sameStatusLines' rows: row i shows height i (written by height(i, out, at), called
 * for i = 0, 1, ... in order), the ID at 32·i in `ids` and the payload at dataAt + dataStride·i in `data`.
 */
interface Rows {
  height: (i: number, out: Uint8Array, at: number) => void
  /** The widest height. */
  hw: number
  ids: Uint8Array
  data: Uint8Array
  dataAt?: number
  dataStride?: number
}

/** The rows of storedBlockLines (see Rows), each with `statusText`, as ASCII bytes, every row ending in a newline. */
function sameStatusLines(
  count: number,
  statusText: string,
  {height, hw, ids, data, dataAt = 0, dataStride = 32}: Rows,
): Buffer {
  // The ID cell is coloured as id() colours it: the same escapes around every ID, so the widest
  // coloured cell is the widest ID plus the escapes, and padding follows the closing escape.
  const [open, close] = chalk.cyan('\u0000').split('\u0000') as [string, string]

  // Every ID first, into one scratch of 50 bytes each (the longest CB58 of 32 bytes), for its width.
  const cb58 = new Uint8Array(50 * count)
  const idLengths = new Uint8Array(count)
  let idw = 0
  for (let i = 0; i < count; i++) {
    const n = idsToCb58Into(ids, 32 * i, cb58, 50 * i)
    idLengths[i] = n
    if (n > idw) idw = n
  }

  // Every row has the same length (every cell but the last is padded, and the last is 64 hex
  // digits): lay them out at fixed offsets in a buffer filled with a row of spaces, the opening
  // escape, the status and the newline; the closing escape follows each ID.
  const idAt = hw + 2 + open.length
  const statusAt = idAt + idw + close.length + 2
  const hexAt = statusAt + statusText.length + 2
  const stride = hexAt + 64 + 1
  const template = Buffer.alloc(stride, 32)
  template.write(open, hw + 2, 'latin1')
  template.write(statusText, statusAt, 'latin1')
  template[stride - 1] = 10
  const out = Buffer.alloc(stride * count, template)
  const closing = Buffer.from(close, 'latin1')
  for (let i = 0, row = 0; i < count; i++, row += stride) {
    height(i, out, row)
    const n = idLengths[i]!
    for (let k = 0, from = 50 * i; k < n; k++) out[row + idAt + k] = cb58[from + k]!
    for (let k = 0; k < closing.length; k++) out[row + idAt + n + k] = closing[k]!
    for (let j = dataAt + dataStride * i, end = j + 32, at = row + hexAt; j < end; j++, at += 2) {
      out[at] = HEX_CODES[data[j]! >> 4]!
      out[at + 1] = HEX_CODES[data[j]! & 15]!
    }
  }

  return out
}

/** A problem list for `check`, one per line. */
export function problemLines(problems: Array<{kind: string; message: string; id?: string; height?: string}>): string {
  return problems
    .map(
      (p) =>
        `${chalk.red(p.kind)}  ${p.message}${p.height === undefined ? '' : ` (height ${p.height})`}${p.id === undefined ? '' : ` [${p.id}]`}`,
    )
    .join('\n')
}

/** The endpoints `tsvm serve` prints on start. */
export function serveLines(
  info: {
    chainID: string
    endpoints: {chain: string; chainAlias: string; static: string; staticAlias: string; health: string; info?: string}
    api: string
    blockTime: number
  },
  dataDir: string,
): string {
  const building = info.blockTime > 0 ? `a block every ${info.blockTime}s` : 'blocks at once'
  return [
    table([
      ['chain', chalk.cyan(info.endpoints.chain)],
      ['chain alias', info.endpoints.chainAlias],
      ['static', info.endpoints.static],
      ['static alias', info.endpoints.staticAlias],
      ['health', info.endpoints.health],
      ...(info.endpoints.info ? [['info', info.endpoints.info] as [string, string]] : []),
    ]),
    chalk.dim(`chain ${info.chainID} from ${dataDir}, API ${info.api}, ${building}`),
  ].join('\n')
}

/** One line on what an open adopted from a state the Go VM wrote. */
export function adoptionText(
  report: {blocks: number; rejected: number; lastAcceptedHeight: string; resumed: boolean; ms: number},
  dataDir: string,
): string {
  const rejected = report.rejected > 0 ? ` and ${report.rejected} rejected` : ''
  const how = report.resumed ? 'finished adopting' : 'adopted'
  return `${how} the chain the Go VM left in ${dataDir}: ${report.blocks} accepted blocks${rejected}, last accepted height ${report.lastAcceptedHeight}, indexed in ${(report.ms / 1000).toFixed(2)} s`
}

/** What `propose -` says on Ctrl-C: how far it got and where to resume. */
export function interruptSummary(accepted: number, total: number): string {
  return (
    `interrupted: ${accepted} of ${total} payloads accepted (printed above), ${total - accepted} not proposed; ` +
    `the first not proposed is payload ${accepted + 1} (blank lines not counted): resume from there`
  )
}
