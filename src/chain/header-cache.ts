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

import {BLOCK_SIZE, type Block, parseBlock} from '../vm/block.js'
import {ID_LENGTH, idToString} from '../vm/encoding.js'
import {bytesEqual} from '../vm/hash.js'

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
 * index from an ID's first 8 bytes to its height (about 130 bytes of memory per block).
 */
export class BlockRun {
  private readonly chunks = new Map<number, Uint8Array>()
  private readonly index = new Map<string, bigint>()
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
    return parseBlock(chunk.subarray(off, off + BLOCK_SIZE))
  }

  /** The height of the block with this ID, when the run holds it. */
  heightOf(id: Uint8Array): bigint | undefined {
    const h = this.index.get(key(id))
    if (h === undefined) return undefined
    const b = this.at(h)
    return b !== undefined && bytesEqual(b.id, id) ? h : undefined
  }

  /** Adds the block right above hi (or the first block); false when it does not link. */
  pushTop(block: Block): boolean {
    if (!this.empty) {
      if (block.height !== this.hiValue + 1n || !bytesEqual(block.parentId, this.top!.id)) return false
    } else {
      this.loValue = block.height
      this.bottom = block
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
    for (let h = this.hiValue; h > height && h >= this.loValue; h--) this.index.delete(key(this.at(h)!.id))
    if (height < this.loValue) this.clear()
    else if (height < this.hiValue) {
      this.hiValue = height
      this.top = this.at(height)
    }
  }

  /** Drops every block. */
  clear(): void {
    this.chunks.clear()
    this.index.clear()
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
    this.index.set(key(block.id), block.height)
  }

  /** The held bytes in height order, in pieces of at most one chunk. */
  *slices(): Generator<Uint8Array> {
    for (let h = this.loValue; h <= this.hiValue; ) {
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
      let block: Block
      try {
        block = parseBlock(bytes.subarray(off, off + BLOCK_SIZE))
      } catch {
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

function key(id: Uint8Array): string {
  return String.fromCharCode(id[0]!, id[1]!, id[2]!, id[3]!, id[4]!, id[5]!, id[6]!, id[7]!)
}
