// A verified run of consecutive blocks of one chain, kept on disk between commands so that a
// remote chain costs O(new blocks), not O(chain), per command.
//
// File layout (one file per chain, <cache dir>/<chainID CB58>.blocks):
//
//   0       8 bytes   magic "TSVMBLK1"
//   8      32 bytes   chain ID
//   40     82 bytes   block at the lowest height held (its own 82 codec bytes)
//   122    82 bytes   the next height, whose parent ID is the previous block's ID
//   ...
//
// The blocks' own bytes hold parent, height, timestamp and data, and their sha256 is the ID, so
// every entry is checked when the file is read: each must parse, and each must be the parent of
// the next (same ID chain, consecutive heights). A file that fails any check, or names another
// chain ID, is ignored whole and rewritten. A verified file only ever holds real blocks; whether
// they are on the chain a node serves is proven per command by linking them to the node's tip
// (src/chain/remote.ts). Writes go to a temporary file renamed over the old one, so concurrent
// processes each leave a whole, valid file (the last rename wins).
import {randomBytes} from 'node:crypto'
import {mkdir, open, readFile, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {BLOCK_SIZE, type Block} from '../vm/block.js'
import {ID_LENGTH, idToString} from '../vm/encoding.js'
import {bytesEqual, sha256} from '../vm/hash.js'

const MAGIC = new TextEncoder().encode('TSVMBLK1')
const HEADER = MAGIC.length + ID_LENGTH

/** Blocks per in-memory chunk: the run grows at both ends without copying what it holds. */
const CHUNK = 4096
const CHUNK_N = BigInt(CHUNK)

/** The cache file of a chain in a cache dir. */
export function cacheFile(dir: string, chainId: Uint8Array): string {
  return join(dir, `${idToString(chainId)}.blocks`)
}

/** Why a cache file was not used (for tests and debugging); undefined when it was, or was absent. */
export type CacheRejection = 'magic' | 'chain' | 'length' | 'block' | 'link'

/**
 * Consecutive verified blocks [lo, hi] of one chain: 82 bytes each in fixed-size chunks, plus an
 * index from ID to height (about 110 bytes of memory per block).
 */
export class BlockRun {
  private readonly chunks = new Map<number, Uint8Array>()
  private index = new IdIndex()
  private loValue = 0n
  private hiValue = -1n
  /** The blocks at hi and lo, kept parsed: each push compares against one of them. */
  private top: Block | undefined
  private bottom: Block | undefined

  /** Whether the run holds no block. */
  get empty(): boolean {
    return this.hiValue < this.loValue
  }

  /** Number of blocks held. */
  get size(): number {
    return this.empty ? 0 : Number(this.hiValue - this.loValue + 1n)
  }

  get lo(): bigint {
    return this.loValue
  }

  get hi(): bigint {
    return this.hiValue
  }

  /** The block at lo (undefined when empty). */
  get lowest(): Block | undefined {
    return this.bottom
  }

  /** The block at a height, or undefined outside [lo, hi]. */
  at(height: bigint): Block | undefined {
    if (this.empty || height < this.loValue || height > this.hiValue) return undefined
    const chunk = this.chunks.get(Number(height / CHUNK_N))!
    const off = Number(height % CHUNK_N) * BLOCK_SIZE
    return readBlock(chunk.subarray(off, off + BLOCK_SIZE))!
  }

  /** The height of the block with this ID, when the run holds it. */
  heightOf(id: Uint8Array): bigint | undefined {
    for (const h of this.index.candidates(id)) {
      const b = this.at(h)
      if (b !== undefined && bytesEqual(b.id, id)) return h
    }

    return undefined
  }

  /** Adds the block right above hi (or the first block); false when it does not link. */
  pushTop(block: Block): boolean {
    if (this.empty) {
      this.loValue = block.height
      this.bottom = block
    } else if (block.height !== this.hiValue + 1n || !bytesEqual(block.parentId, this.top!.id)) {
      return false
    }

    this.put(block)
    this.hiValue = block.height
    this.top = block
    return true
  }

  /** Adds the parent of the block at lo; false when it is not that parent. */
  pushBottom(block: Block): boolean {
    if (this.empty) return this.pushTop(block)
    if (block.height !== this.loValue - 1n || !bytesEqual(block.id, this.bottom!.parentId)) return false
    this.put(block)
    this.loValue = block.height
    this.bottom = block
    return true
  }

  /** Drops every block above `height`. */
  truncateAbove(height: bigint): void {
    for (let h = this.hiValue; h > height && h >= this.loValue; h--) this.index.delete(this.at(h)!.id, h)
    if (height < this.loValue) this.clear()
    else if (height < this.hiValue) {
      this.hiValue = height
      this.top = this.at(height)
    }
  }

  /** Drops every block. */
  clear(): void {
    this.chunks.clear()
    this.index = new IdIndex()
    this.loValue = 0n
    this.hiValue = -1n
    this.top = undefined
    this.bottom = undefined
  }

  private put(block: Block): void {
    const c = Number(block.height / CHUNK_N)
    let chunk = this.chunks.get(c)
    if (chunk === undefined) {
      chunk = new Uint8Array(CHUNK * BLOCK_SIZE)
      this.chunks.set(c, chunk)
    }

    chunk.set(block.bytes, Number(block.height % CHUNK_N) * BLOCK_SIZE)
    this.index.add(block.id, block.height)
  }

  /** The held bytes in height order, in pieces of at most one chunk. */
  *slices(): Generator<Uint8Array> {
    for (let h = this.loValue; h <= this.hiValue;) {
      const c = h / CHUNK_N
      const end = (c + 1n) * CHUNK_N - 1n < this.hiValue ? (c + 1n) * CHUNK_N - 1n : this.hiValue
      const chunk = this.chunks.get(Number(c))!
      yield chunk.subarray(Number(h % CHUNK_N) * BLOCK_SIZE, (Number(end % CHUNK_N) + 1) * BLOCK_SIZE)
      h = end + 1n
    }
  }

  /**
   * Reads a cache file: the run it holds when every check passes, else an empty run and why it
   * was refused. A missing or unreadable file is an empty run.
   */
  static async load(path: string, chainId: Uint8Array): Promise<{run: BlockRun; rejected?: CacheRejection}> {
    const run = new BlockRun()
    let bytes: Uint8Array
    try {
      bytes = await readFile(path)
    } catch {
      return {run}
    }

    if (bytes.length < HEADER || !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) return {run, rejected: 'magic'}
    if (!bytesEqual(bytes.subarray(MAGIC.length, HEADER), chainId)) return {run, rejected: 'chain'}
    if ((bytes.length - HEADER) % BLOCK_SIZE !== 0) return {run, rejected: 'length'}
    for (let off = HEADER; off < bytes.length; off += BLOCK_SIZE) {
      const block = readBlock(bytes.subarray(off, off + BLOCK_SIZE))
      if (block === undefined) {
        run.clear()
        return {run, rejected: 'block'}
      }

      if (!run.pushTop(block)) {
        run.clear()
        return {run, rejected: 'link'}
      }
    }

    return {run}
  }

  /** Writes the run to `path` through a temporary file and a rename. */
  async save(path: string, chainId: Uint8Array, dir: string): Promise<void> {
    await mkdir(dir, {recursive: true})
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const fh = await open(tmp, 'w', 0o644)
      try {
        await fh.write(MAGIC)
        await fh.write(chainId)
        for (const s of this.slices()) await fh.write(s)
        await fh.sync()
      } finally {
        await fh.close()
      }

      await rename(tmp, path)
    } catch (error) {
      await rm(tmp, {force: true})
      throw error
    }
  }
}

/**
 * parseBlock without its error texts, for reading a million cached blocks: the 82 bytes with codec
 * version 0, and the ID computed from them. Undefined when the bytes are not a block.
 */
function readBlock(bytes: Uint8Array): Block | undefined {
  if (bytes.length !== BLOCK_SIZE || bytes[0] !== 0 || bytes[1] !== 0) return undefined
  const own = bytes.slice()
  const view = new DataView(own.buffer, own.byteOffset, BLOCK_SIZE)
  return {
    parentId: own.subarray(2, 34),
    height: view.getBigUint64(34),
    timestamp: view.getBigInt64(42),
    data: own.subarray(50, 82),
    bytes: own,
    id: sha256(own),
  }
}

/**
 * Block ID -> height, as an open-addressing table over typed arrays keyed by the ID's first 4
 * bytes (a Map of a million entries takes seconds to fill). It may return heights of other IDs
 * with the same first bytes: callers compare the whole ID. Heights past 2^53 are not indexed.
 */
class IdIndex {
  private keys = new Int32Array(1024)
  /** height + 1; 0 is an empty slot, -1 a deleted one. */
  private vals = new Float64Array(1024)
  private used = 0

  private static key(id: Uint8Array): number {
    return id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)
  }

  private slot(k: number): number {
    return Math.imul(k, 0x9e3779b1) >>> 0
  }

  add(id: Uint8Array, height: bigint): void {
    if (height >= BigInt(Number.MAX_SAFE_INTEGER)) return
    if ((this.used + 1) * 2 > this.keys.length) this.grow()
    this.insert(IdIndex.key(id), Number(height) + 1)
  }

  private insert(k: number, v: number): void {
    const mask = this.keys.length - 1
    for (let i = this.slot(k) & mask; ; i = (i + 1) & mask) {
      if (this.vals[i]! <= 0) {
        if (this.vals[i] === 0) this.used++
        this.keys[i] = k
        this.vals[i] = v
        return
      }
    }
  }

  private grow(): void {
    const {keys, vals} = this
    this.keys = new Int32Array(keys.length * 2)
    this.vals = new Float64Array(keys.length * 2)
    this.used = 0
    for (let i = 0; i < keys.length; i++) if (vals[i]! > 0) this.insert(keys[i]!, vals[i]!)
  }

  *candidates(id: Uint8Array): Generator<bigint> {
    const k = IdIndex.key(id)
    const mask = this.keys.length - 1
    for (let i = this.slot(k) & mask; this.vals[i] !== 0; i = (i + 1) & mask) {
      if (this.vals[i]! > 0 && this.keys[i] === k) yield BigInt(this.vals[i]! - 1)
    }
  }

  delete(id: Uint8Array, height: bigint): void {
    const k = IdIndex.key(id)
    const v = Number(height) + 1
    const mask = this.keys.length - 1
    for (let i = this.slot(k) & mask; this.vals[i] !== 0; i = (i + 1) & mask) {
      if (this.keys[i] === k && this.vals[i] === v) {
        this.vals[i] = -1
        return
      }
    }
  }
}
