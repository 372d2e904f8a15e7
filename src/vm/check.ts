// Consistency check of a stored chain, like git fsck: reads every key of every space the VM
// writes and reports what disagrees. It never throws for a finding; it returns them all.
//
// Checked: every stored and processing block decodes and its key is sha256 of its bytes; accepted
// heights are indexed contiguously from 0 with each block's parent the block below it and
// timestamps never decreasing; genesis has parent ids.Empty and timestamp 0 and matches the
// recorded genesis bytes; every accepted block is in the height index; the last accepted ID is
// the top of the index; the data index lists exactly the known blocks with their payloads;
// processing blocks have known parents; no adoption of a Go state is half done; mempool entries are 32 bytes; and, given the clock, that
// the last accepted block is less than an hour ahead of it (else no block can be built on it).
import {decodeWrapper, MAX_FUTURE_SECONDS, parseBlock, spanText, Status, timeText} from './block.js'
import {EMPTY_ID, fromHex, ID_LENGTH, idToString, toHex} from './encoding.js'
import {genesisBlock} from './genesis.js'
import {bytesEqual, sha256} from './hash.js'
import {
  ADOPTING_KEY,
  BLOCK_PREFIX,
  type ChainState,
  DATA_PREFIX,
  GENESIS_KEY,
  HEIGHT_PREFIX,
  INITIALIZED_KEY,
  MEMPOOL_PREFIX,
  PROCESSING_PREFIX,
  readU64,
} from './state.js'

/** One finding of a chain check. */
export interface CheckProblem {
  kind: string
  message: string
  id?: string
  height?: string
}

/** The outcome of a chain check: ok when there are no problems. */
export interface CheckReport {
  ok: boolean
  /** Blocks examined: stored (accepted and rejected) plus processing. */
  blocks: number
  lastAcceptedHeight: string
  problems: CheckProblem[]
}

/** Findings beyond this many are summarised in one last problem. */
export const MAX_PROBLEMS = 100

interface Seen {
  height: bigint
  parent: string
  timestamp: bigint
  data: string
  status: Status
}

/** Options of checkState. */
export interface CheckOptions {
  /** The clock in unix seconds: a last accepted block an hour or more ahead of it is reported. */
  nowSeconds?: bigint
  /** The blocks the chain is expected to hold (for progress; the check does not rely on it). */
  expectedBlocks?: number
  /** Entries read so far of the three big spaces (blocks, heights, data index), of about 3 × expectedBlocks. */
  onProgress?: (done: number, total: number) => void
}

/** Checks every space of a chain's state; see the file comment for what is checked. */
export async function checkState(state: ChainState, options: CheckOptions = {}): Promise<CheckReport> {
  const problems: CheckProblem[] = []
  let dropped = 0
  const report = (p: CheckProblem) => (problems.length < MAX_PROBLEMS ? problems.push(p) : dropped++)
  const blocks = new Map<string, Seen>()
  let lastAccepted: Uint8Array | undefined
  const total = 3 * (options.expectedBlocks ?? 0)
  let read = 0
  const step = () => {
    if (++read % 4096 === 0) options.onProgress?.(read, Math.max(total, read))
  }

  if ((await state.db.get(INITIALIZED_KEY)) === undefined) {
    report({
      kind: 'not-initialized',
      message: 'the initialized flag is missing: the chain has no genesis (run tsvm init)',
    })
  }

  if ((await state.db.get(ADOPTING_KEY)) !== undefined) {
    report({
      kind: 'adoption-incomplete',
      message:
        'an adoption of a chain the Go VM wrote was interrupted: its indexes are incomplete (open the chain again, or run tsvm adopt, to finish it)',
    })
  }

  // Go's block space: blkWrappers under 32-byte IDs, the last accepted ID under 00.
  for await (const [key, value] of state.scan(BLOCK_PREFIX)) {
    step()
    const rest = key.subarray(BLOCK_PREFIX.length)
    if (rest.length === 1 && rest[0] === 0) {
      if (value.length === ID_LENGTH) lastAccepted = value
      else report({kind: 'last-accepted', message: `the last accepted ID is ${value.length} bytes, not ${ID_LENGTH}`})
      continue
    }

    if (rest.length !== ID_LENGTH) {
      report({kind: 'unknown-key', message: `unexpected key ${toHex(key)} in the block space`})
      continue
    }

    const id = idToString(rest)
    let record
    try {
      record = decodeWrapper(value)
    } catch (error) {
      report({kind: 'undecodable', id, message: `stored block does not decode: ${(error as Error).message}`})
      continue
    }

    if (!bytesEqual(sha256(record.block.bytes), rest)) {
      report({
        kind: 'id-mismatch',
        id,
        message: `stored under ${id} but its bytes hash to ${idToString(sha256(record.block.bytes))}`,
      })
      continue
    }

    if (record.status !== Status.Accepted && record.status !== Status.Rejected) {
      report({
        kind: 'status',
        id,
        message: `stored block has status ${record.status}; only accepted (3) and rejected (2) are stored`,
      })
    }

    blocks.set(toHex(rest), seen(record.block, record.status))
  }

  // Processing blocks.
  const processing: Array<[string, Seen]> = []
  for await (const [key, value] of state.scan(PROCESSING_PREFIX)) {
    const rest = key.subarray(PROCESSING_PREFIX.length)
    let block
    try {
      block = parseBlock(value)
    } catch (error) {
      report({
        kind: 'undecodable',
        message: `processing block ${toHex(rest)} does not decode: ${(error as Error).message}`,
      })
      continue
    }

    if (!bytesEqual(block.id, rest)) {
      report({
        kind: 'id-mismatch',
        id: idToString(block.id),
        message: `processing block stored under ${toHex(rest)} hashes to another ID`,
      })
      continue
    }

    const k = toHex(rest)
    if (blocks.has(k)) report({kind: 'status', id: idToString(rest), message: 'block is both decided and processing'})
    processing.push([k, seen(block, Status.Processing)])
  }

  for (const [k, s] of processing) blocks.set(k, s)
  for (const [k, s] of processing) {
    if (!blocks.has(s.parent)) {
      report({
        kind: 'orphan',
        id: idToString(fromHex(k)),
        message: `processing block's parent ${idToString(fromHex(s.parent))} is not known`,
      })
    }
  }

  // The height index: contiguous from 0, each entry an accepted block at that height on its parent.
  const indexed = new Set<string>()
  let expected = 0n
  let below: {id: string; seen: Seen} | undefined
  let topId: string | undefined
  for await (const [key, value] of state.scan(HEIGHT_PREFIX)) {
    step()
    const height = readU64(key, HEIGHT_PREFIX.length)
    const h = height.toString()
    if (height !== expected) {
      report({
        kind: 'height-gap',
        height: h,
        message: `heights ${expected}..${height - 1n} are missing from the height index`,
      })
      below = undefined
    }

    expected = height + 1n
    const k = toHex(value)
    topId = k
    const s = blocks.get(k)
    if (value.length !== ID_LENGTH || !s) {
      report({kind: 'height-index', height: h, message: `height ${h} points at a block that is not stored`})
      below = undefined
      continue
    }

    const id = idToString(value)
    indexed.add(k)
    if (s.status !== Status.Accepted)
      report({kind: 'height-index', id, height: h, message: `height ${h} points at a block that is not accepted`})
    if (s.height !== height)
      report({kind: 'height-index', id, height: h, message: `height ${h} points at a block of height ${s.height}`})
    if (height === 0n) {
      if (s.parent !== toHex(EMPTY_ID) || s.timestamp !== 0n) {
        report({
          kind: 'genesis',
          id,
          height: h,
          message: 'the genesis block must have parent ids.Empty and timestamp 0',
        })
      }
    } else if (below) {
      if (s.parent !== below.id) {
        report({
          kind: 'parent-link',
          id,
          height: h,
          message: `the parent of height ${h} is not the accepted block at height ${height - 1n}`,
        })
      } else if (s.timestamp < below.seen.timestamp) {
        report({kind: 'timestamp-order', id, height: h, message: `height ${h} is timestamped before its parent`})
      }
    }

    below = {id: k, seen: s}
  }

  for (const [k, s] of blocks) {
    if (s.status === Status.Accepted && !indexed.has(k)) {
      report({
        kind: 'not-indexed',
        id: idToString(fromHex(k)),
        height: s.height.toString(),
        message: `accepted block at height ${s.height} is not in the height index`,
      })
    }
  }

  if (!lastAccepted) {
    report({kind: 'last-accepted', message: 'the last accepted ID is missing'})
  } else if (topId !== toHex(lastAccepted)) {
    report({
      kind: 'last-accepted',
      id: idToString(lastAccepted),
      message: 'the last accepted block is not the top of the height index',
    })
  }

  const tip = lastAccepted && blocks.get(toHex(lastAccepted))
  const now = options.nowSeconds
  if (tip && now !== undefined && tip.timestamp >= now + MAX_FUTURE_SECONDS) {
    report({
      kind: 'tip-in-future',
      id: idToString(lastAccepted!),
      height: tip.height.toString(),
      message:
        `the last accepted block is timestamped ${timeText(tip.timestamp)}, ${spanText(tip.timestamp - now)} ahead of the clock (${timeText(now)}): ` +
        `no block can be built on it until the clock reaches ${timeText(tip.timestamp - MAX_FUTURE_SECONDS + 1n)} (a block may be neither earlier than its parent nor an hour ahead); ` +
        'the data is intact: the clock was ahead when it was built, or this clock is behind',
    })
  }

  const genesisBytes = await state.db.get(GENESIS_KEY)
  if (genesisBytes) {
    const g0 = await state.idAtHeight(0n)
    let expectedGenesis: string | undefined
    try {
      expectedGenesis = toHex(genesisBlock(genesisBytes).id)
    } catch {
      report({kind: 'genesis', message: `the recorded genesis bytes are ${genesisBytes.length} long, more than 32`})
    }

    if (expectedGenesis && g0 && toHex(g0) !== expectedGenesis) {
      report({
        kind: 'genesis',
        height: '0',
        message: 'the block at height 0 is not the genesis of the recorded genesis bytes',
      })
    }
  }

  // The data index: payload ‖ ID for exactly the known blocks.
  const dataIndexed = new Set<string>()
  for await (const [key] of state.scan(DATA_PREFIX)) {
    step()
    const rest = key.subarray(DATA_PREFIX.length)
    if (rest.length !== 2 * ID_LENGTH) {
      report({kind: 'data-index', message: `unexpected key ${toHex(key)} in the data index`})
      continue
    }

    const data = toHex(rest.subarray(0, ID_LENGTH))
    const k = toHex(rest.subarray(ID_LENGTH))
    const s = blocks.get(k)
    if (!s || s.data !== data) {
      report({
        kind: 'data-index',
        id: idToString(fromHex(k)),
        message: `the data index lists payload ${data} for a block that does not hold it`,
      })
      continue
    }

    dataIndexed.add(k)
  }

  for (const [k, s] of blocks) {
    if (!dataIndexed.has(k)) {
      report({
        kind: 'data-index',
        id: idToString(fromHex(k)),
        message: `block with payload ${s.data} is missing from the data index`,
      })
    }
  }

  for await (const [key, value] of state.scan(MEMPOOL_PREFIX)) {
    if (value.length !== ID_LENGTH || key.length !== MEMPOOL_PREFIX.length + 8) {
      report({kind: 'mempool', message: `mempool entry ${toHex(key.subarray(MEMPOOL_PREFIX.length))} is malformed`})
    }
  }

  if (dropped > 0) problems.push({kind: 'more', message: `${dropped} more problems not listed`})
  const top = lastAccepted ? blocks.get(toHex(lastAccepted))?.height : undefined
  return {
    ok: problems.length === 0,
    blocks: blocks.size,
    lastAcceptedHeight: (top ?? expected - 1n).toString(),
    problems,
  }
}

function seen(
  block: {height: bigint; parentId: Uint8Array; timestamp: bigint; data: Uint8Array},
  status: Status,
): Seen {
  return {
    height: block.height,
    parent: toHex(block.parentId),
    timestamp: block.timestamp,
    data: toHex(block.data),
    status,
  }
}
