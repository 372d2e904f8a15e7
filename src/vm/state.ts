// Persistent state of the embedded TimestampVM on one LevelDB directory (classic-level, keys and
// values as raw bytes). Where Go has a key, we use Go's exact key and value (spec §5), so the
// `block` and `singleton` spaces hold what the Go VM would write; our own indexes live under
// other hashed prefixes, P(x) = sha256(x) (32 bytes), the way Go's prefixdb hashes "block".
//
//   key                                        value                       Go?
//   P("block")     ‖ blockID (32)              blkWrapper, 92 bytes        yes: accepted (3) / rejected (2)
//   P("block")     ‖ 00                        last accepted ID (32)       yes
//   P("singleton") ‖ 00                        empty: initialized          yes
//   P("tsvm/height")     ‖ u64 BE height       block ID (32)               accepted blocks only
//   P("tsvm/data")       ‖ payload ‖ blockID   empty                       every stored or processing block
//   P("tsvm/genesis")    ‖ 00                  genesis bytes as given (≤ 32)
//   P("tsvm/mempool")    ‖ u64 BE sequence     payload (32)                FIFO: lowest sequence first
//   P("tsvm/processing") ‖ blockID             block bytes (82)            verified, not yet decided
//   P("tsvm/preferred")  ‖ 00                  preferred block ID (32)
//   P("tsvm/adopting")   ‖ 00                  last accepted ID (32)       only while adopting a Go state
//
// Unlike Go, processing blocks and the mempool are persisted, so `build` in one process and
// `accept` in the next works. Every state transition is one atomic batch; batches that accept
// blocks are written with sync: true before the caller reports them.
//
// A failed write poisons the handle. LevelDB does not mark itself failed when a log write fails
// (a full disk, say): the record may be half on disk, and every later record lands behind the
// torn one, where the next open's log recovery drops it, although each write reported success.
// So after one failed write, every later write through this handle is refused (DB_WRITE_FAILED)
// until reopen() has closed the database, opened it again (replaying the log up to the last
// whole record) and read back a synced test write through a second reopen.
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync, realpathSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {AbstractChainedBatch, AbstractLevel} from 'abstract-level'
import {Level} from 'level'

import {allocBytes, writeU64} from './codec.js'
import {type Block, BLOCK_SIZE, decodeWrapper, encodeWrapper, parseBlock, Status} from './block.js'
import {toHex} from './encoding.js'
import {checkAccess, diskOrPermissionError, lockedHere, refuseMidRepair, undoCreate} from './datadir.js'
import {TsvmError} from './errors.js'
import {bytesEqual, concatBytes, sha256} from './hash.js'
import type {BlockRun} from './run.js'

const text = (s: string) => new TextEncoder().encode(s)

/** sha256("block"): Go's prefix for blocks and the last accepted ID. */
export const BLOCK_PREFIX = sha256(text('block'))
/** sha256("singleton"): Go's prefix for the initialized flag. */
export const SINGLETON_PREFIX = sha256(text('singleton'))
/** Accepted height → block ID. */
export const HEIGHT_PREFIX = sha256(text('tsvm/height'))
/** payload ‖ block ID → empty, for finding the blocks that hold a payload. */
export const DATA_PREFIX = sha256(text('tsvm/data'))
/** The genesis bytes the chain was created with. */
export const GENESIS_PREFIX = sha256(text('tsvm/genesis'))
/** Mempool sequence → payload. */
export const MEMPOOL_PREFIX = sha256(text('tsvm/mempool'))
/** Processing block ID → block bytes. */
export const PROCESSING_PREFIX = sha256(text('tsvm/processing'))
/** The preferred block ID. */
export const PREFERRED_PREFIX = sha256(text('tsvm/preferred'))
/** Present while the indexes of a state the Go VM wrote are being built (see adopt.ts). */
export const ADOPTING_PREFIX = sha256(text('tsvm/adopting'))
/** A test write of reopen(), deleted again at once. */
export const PROBE_PREFIX = sha256(text('tsvm/probe'))

const ZERO = new Uint8Array([0])

// storeRun's scratch keys and values, prefixes in place: the parts after them are rewritten per block.
const RUN_DATA_KEY = concatBytes(DATA_PREFIX, new Uint8Array(64))
const RUN_BLOCK_KEY = concatBytes(BLOCK_PREFIX, new Uint8Array(32))
const RUN_HEIGHT_KEY = concatBytes(HEIGHT_PREFIX, new Uint8Array(8))
const RUN_WRAPPER = new Uint8Array(encodeWrapper(new Uint8Array(BLOCK_SIZE), Status.Accepted))
const RUN_ID = new Uint8Array(32)

/** Go's key of a stored block. */
export function blockKey(id: Uint8Array): Uint8Array {
  const out = allocBytes(BLOCK_PREFIX.length + id.length)
  out.set(BLOCK_PREFIX)
  out.set(id, BLOCK_PREFIX.length)
  return out
}

/** Go's key of the last accepted ID. */
export const LAST_ACCEPTED_KEY = concatBytes(BLOCK_PREFIX, ZERO)
/** Go's key of the initialized flag. */
export const INITIALIZED_KEY = concatBytes(SINGLETON_PREFIX, ZERO)
/** Key of the genesis bytes. */
export const GENESIS_KEY = concatBytes(GENESIS_PREFIX, ZERO)
/** Key of the preferred ID. */
export const PREFERRED_KEY = concatBytes(PREFERRED_PREFIX, ZERO)
/** Key of the adoption marker. */
export const ADOPTING_KEY = concatBytes(ADOPTING_PREFIX, ZERO)
/** Key of reopen()'s test write. */
export const PROBE_KEY = concatBytes(PROBE_PREFIX, ZERO)
/** Key of the accepted block at a height. */
export function heightKey(height: bigint): Uint8Array {
  const out = allocBytes(HEIGHT_PREFIX.length + 8)
  out.set(HEIGHT_PREFIX)
  writeU64(out, HEIGHT_PREFIX.length, height)
  return out
}

/** Key of one (payload, block) pair in the data index. */
export function dataKey(data: Uint8Array, id: Uint8Array): Uint8Array {
  const out = allocBytes(DATA_PREFIX.length + data.length + id.length)
  out.set(DATA_PREFIX)
  out.set(data, DATA_PREFIX.length)
  out.set(id, DATA_PREFIX.length + data.length)
  return out
}

/** Key of a mempool entry. */
export const mempoolKey = (seq: bigint): Uint8Array => concatBytes(MEMPOOL_PREFIX, u64(seq))
/** Key of a processing block. */
export const processingKey = (id: Uint8Array): Uint8Array => concatBytes(PROCESSING_PREFIX, id)

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8)
  writeU64(b, 0, v)
  return b
}

/** Reads a big-endian u64 at `offset`. */
export function readU64(b: Uint8Array, offset: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset)
}

/** The first key after every key that starts with `prefix` (prefix + 1 as a big number). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }

  throw new TsvmError('INTERNAL', 'prefix has no upper bound')
}

const EMPTY = new Uint8Array(0)

/**
 * The store under ChainState: any abstract-level database with Uint8Array keys and values.
 * classic-level on a data dir (embedded, serve) or the node's rpcdb (the plugin, src/plugin).
 */
// classic-level reads `sync` from the options of put and del; abstract-level's types do not name it.
const SYNCED = {sync: true}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- abstract-level's format parameter is invariant: a classic-level Level and the plugin's RPC-backed level differ there
export type StateDb = AbstractLevel<any, Uint8Array, Uint8Array>
type Db = StateDb
/** A chained batch on our database. */
type ChainedBatch = AbstractChainedBatch<Db, Uint8Array, Uint8Array>

/** classic-level hands out Buffers; the VM speaks plain Uint8Array (a copy, off the shared pool). */
function plain(v: Uint8Array): Uint8Array
function plain(v: Uint8Array | undefined): Uint8Array | undefined
function plain(v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : new Uint8Array(v)
}

/** A batch handed to LevelDB but not yet applied (ChainState.prepare). */
export interface PreparedWrite {
  /** Applies the batch atomically; `sync` waits until it is on disk. */
  write(options?: {sync?: boolean}): Promise<void>
  /** Drops the batch unwritten. */
  discard(): Promise<void>
}

/** A block with its status, as stored or held. */
export interface BlockRecord {
  block: Block
  status: Status
}

/** Records in order, as an array or made on demand (runRecords). */
interface RecordList {
  readonly length: number
  at(i: number): BlockRecord | undefined
}

/** The accepted records of a run, each made when it is asked for. */
function runRecords(run: BlockRun): RecordList {
  return {length: run.length, at: (i) => ({block: run.block(i), status: Status.Accepted})}
}

/** A queued payload with its FIFO position. */
export interface MempoolEntry {
  seq: bigint
  data: Uint8Array
}

/** Builds the writes of one state transition; hand it to ChainState.write. */
export class StateBatch {
  // The writes in order as two parallel lists, a value of undefined meaning a delete: a group
  // commit makes 300,000 of them, and an object per write was garbage the collector had to chase.
  readonly keys: Uint8Array[] = []
  readonly values: Array<Uint8Array | undefined> = []
  /** Blocks whose stored record this batch changes, for the cache. */
  readonly stored: BlockRecord[] = []
  /** Runs of accepted blocks this batch stores (storeRun), for the cache. */
  readonly runs: BlockRun[] = []
  private count = 0

  /**
   * With `sink` (ChainState.directBatch), writes go straight to LevelDB instead of the lists.
   * `sinkCopies`: the sink copies each key and value as it takes them (classic-level's native
   * batch does), so storeRun may hand it the same scratch arrays again and again.
   */
  constructor(
    readonly sink?: Pick<ChainedBatch, 'put' | 'del'>,
    private readonly sinkCopies = false,
  ) {}

  /** How many writes. */
  get size(): number {
    return this.count
  }

  private put(key: Uint8Array, value: Uint8Array): this {
    this.count++
    if (this.sink) {
      this.sink.put(key, value)
    } else {
      this.keys.push(key)
      this.values.push(value)
    }

    return this
  }

  private del(key: Uint8Array): this {
    this.count++
    if (this.sink) {
      this.sink.del(key)
    } else {
      this.keys.push(key)
      this.values.push(undefined)
    }

    return this
  }

  /** Stores a decided block under Go's key (and indexes its payload). */
  storeBlock(block: Block, status: Status.Accepted | Status.Rejected): this {
    this.stored.push({block, status})
    this.put(dataKey(block.data, block.id), EMPTY)
    return this.put(blockKey(block.id), encodeWrapper(block.bytes, status))
  }

  /**
   * storeBlock(block, Accepted) then putHeight(block) for every block of a run, in order, from
   * the run's buffers: the same keys and values, without a Block object or fresh arrays per block
   * when the sink copies what it takes.
   */
  storeRun(run: BlockRun): this {
    this.runs.push(run)
    const {bytes, ids} = run
    const scratch = this.sinkCopies
    const p = 32 // every prefix is a sha256
    let dKey = scratch ? RUN_DATA_KEY : new Uint8Array(0)
    let bKey = scratch ? RUN_BLOCK_KEY : dKey
    let wrapper = scratch ? RUN_WRAPPER : dKey
    let hKey = scratch ? RUN_HEIGHT_KEY : dKey
    let id = scratch ? RUN_ID : dKey
    for (let i = 0; i < run.length; i++) {
      if (!scratch) {
        dKey = allocBytes(p + 64)
        dKey.set(DATA_PREFIX)
        bKey = allocBytes(p + 32)
        bKey.set(BLOCK_PREFIX)
        wrapper = encodeWrapper(bytes.subarray(BLOCK_SIZE * i, BLOCK_SIZE * (i + 1)), Status.Accepted)
        hKey = allocBytes(p + 8)
        hKey.set(HEIGHT_PREFIX)
        id = ids.subarray(32 * i, 32 * i + 32)
      }

      const at = BLOCK_SIZE * i
      const idAt = 32 * i
      // data index: P("tsvm/data") ‖ payload (codec bytes 50..82) ‖ ID → empty
      for (let k = 0; k < 32; k++) dKey[p + k] = bytes[at + 50 + k]!
      for (let k = 0; k < 32; k++) dKey[p + 32 + k] = ids[idAt + k]!
      this.put(dKey, EMPTY)
      // P("block") ‖ ID → blkWrapper: 00 00 | length | codec bytes | status
      for (let k = 0; k < 32; k++) bKey[p + k] = ids[idAt + k]!
      if (scratch) for (let k = 0; k < BLOCK_SIZE; k++) wrapper[6 + k] = bytes[at + k]!
      this.put(bKey, wrapper)
      // P("tsvm/height") ‖ height (codec bytes 34..42) → ID
      for (let k = 0; k < 8; k++) hKey[p + k] = bytes[at + 34 + k]!
      if (scratch) for (let k = 0; k < 32; k++) id[k] = ids[idAt + k]!
      this.put(hKey, id)
    }

    return this
  }

  /** Records an accepted block at its height and as the last accepted. */
  setAccepted(block: Block): this {
    return this.putHeight(block).setLastAccepted(block.id)
  }

  /** Records an accepted block at its height. */
  putHeight(block: Pick<Block, 'height' | 'id'>): this {
    return this.put(heightKey(block.height), block.id)
  }

  /** Records the last accepted block ID (in a group commit, once for the tip: only the last write counts). */
  setLastAccepted(id: Uint8Array): this {
    return this.put(LAST_ACCEPTED_KEY, id)
  }

  putProcessing(block: Block): this {
    this.put(dataKey(block.data, block.id), EMPTY)
    return this.put(processingKey(block.id), block.bytes)
  }

  delProcessing(id: Uint8Array): this {
    return this.del(processingKey(id))
  }

  putMempool(seq: bigint, data: Uint8Array): this {
    return this.put(mempoolKey(seq), data)
  }

  delMempool(seq: bigint): this {
    return this.del(mempoolKey(seq))
  }

  setPreferred(id: Uint8Array): this {
    return this.put(PREFERRED_KEY, id)
  }

  /** Indexes a stored block's payload without rewriting the block (adoption of a Go state). */
  putData(block: Pick<Block, 'data' | 'id'>): this {
    return this.put(dataKey(block.data, block.id), EMPTY)
  }

  /** Records the genesis bytes alone (adoption: the flag is already there). */
  setGenesisBytes(genesisBytes: Uint8Array): this {
    return this.put(GENESIS_KEY, genesisBytes)
  }

  /** Marks an adoption as under way, for the last accepted ID it started from. */
  setAdopting(lastAccepted: Uint8Array): this {
    return this.put(ADOPTING_KEY, lastAccepted)
  }

  /** Clears the adoption marker: the indexes are complete. */
  clearAdopting(): this {
    return this.del(ADOPTING_KEY)
  }

  setInitialized(genesisBytes: Uint8Array): this {
    this.put(GENESIS_KEY, genesisBytes)
    return this.put(INITIALIZED_KEY, EMPTY)
  }
}

/**
 * A small least-recently-used map, kept in insertion order (the first entry goes first). A hit
 * moves its entry to the end only when it is not among the newest half: moving is a delete and a
 * set, most of a hit's cost, and an entry in the newest half outlives half the map's size of new
 * entries either way.
 */
class Lru<V> {
  private readonly map = new Map<string, {value: V; at: number}>()
  /** Counts insertions and moves: an entry's `at` is when it last went to the end. */
  private clock = 0

  constructor(private readonly size: number) {}

  get(key: string): V | undefined {
    const entry = this.map.get(key)
    if (entry === undefined) return undefined
    if (this.clock - entry.at >= this.size >> 1) {
      this.map.delete(key)
      entry.at = ++this.clock
      this.map.set(key, entry)
    }

    return entry.value
  }

  clear(): void {
    this.map.clear()
  }

  set(key: string, value: V): void {
    this.map.delete(key)
    this.map.set(key, {value, at: ++this.clock})
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value!)
  }
}

const hexKey = toHex

/** Go's blockCacheSize. */
export const BLOCK_CACHE_SIZE = 8192

/**
 * How many of the blocks written since the last read the cache takes in, the newest: Go's cache
 * takes every block it writes. Holding the last 8,192 written blocks for the next read kept each
 * block of a server under a steady load of proposals alive for over a second (at 5,000 a second),
 * long enough to be promoted, and the old generation's collections that followed were most of
 * the server's tail. Older blocks are read from LevelDB on a miss and cached then.
 */
export const WRITTEN_WINDOW = 256

/** Why classic-level could not open a directory, as one of our codes. */
function openError(dir: string, error: unknown): TsvmError {
  const e = error as {code?: string; message?: string; cause?: {code?: string; message?: string}}
  const cause = e.cause ?? e
  const msg = `${cause.message ?? e.message ?? String(error)}`
  // Before the lock test: LevelDB says "LOCK: Permission denied" for a dir it may not write, and
  // "MANIFEST-000001: No space left on device" for a chain created on a full disk.
  const denied = diskOrPermissionError(dir, msg, error)
  if (denied) return denied
  // A word match: "block" (as in "Corruption: bad block contents") must not read as a lock.
  if (cause.code === 'LEVEL_LOCKED' || /\block\b/i.test(msg)) {
    return new TsvmError(
      'DB_LOCKED',
      `data dir ${dir} is in use by another tsvm process (${msg}): stop that process (e.g. tsvm serve) or use another --data-dir`,
      {cause: error},
    )
  }

  if (cause.code === 'LEVEL_CORRUPTION' || /corrupt/i.test(msg)) {
    return new TsvmError(
      'DB_CORRUPT',
      `data dir ${dir} holds a corrupted database (${msg}): repair it with tsvm repair (it backs the data dir up first) or restore it from a backup`,
      {
        cause: error,
      },
    )
  }

  if (/MANIFEST-\d+|\d+\.(ldb|sst|log)\b/.test(msg)) {
    // A file the database needs is missing or unreadable (e.g. CURRENT names a lost MANIFEST).
    return new TsvmError(
      'DB_CORRUPT',
      `data dir ${dir} holds a damaged database (${msg}): repair it with tsvm repair (it backs the data dir up first) or restore it from a backup`,
      {
        cause: error,
      },
    )
  }

  return new TsvmError(
    'DB_OPEN_FAILED',
    `cannot open the database in ${dir} (${msg}): check the path and its permissions`,
    {
      cause: error,
    },
  )
}

/** LevelDB's MANIFEST, table and log files: what holds a database's data. */
const LEVELDB_DATA_FILE = /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/

/** Files LevelDB writes before it reads anything, so a directory holding only these is still empty. */
const NOT_DATA = new Set(['LOCK', 'LOG', 'LOG.old'])

/**
 * Refuses a directory that holds database files but no CURRENT (LevelDB's pointer to its
 * MANIFEST). LevelDB would treat it as a new database and delete the unreferenced tables and
 * logs as obsolete, destroying the chain that a repair could still recover.
 */
function refuseOrphanedFiles(dir: string): void {
  if (!existsSync(dir) || existsSync(join(dir, 'CURRENT'))) return
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return // not a readable directory: let the open report it
  }

  const data = names.filter((n) => !NOT_DATA.has(n))
  // Another process creating a database writes MANIFEST-000001, then CURRENT through a
  // temporary file: until then the directory holds no data to lose. Let the open go on; it
  // meets that process's lock (DB_LOCKED) or finds the finished database.
  if (data.every((n) => n === 'MANIFEST-000001' || n.endsWith('.dbtmp'))) return
  const lost = data.some((n) => LEVELDB_DATA_FILE.test(n))
  throw new TsvmError(
    lost ? 'DB_CORRUPT' : 'DB_OPEN_FAILED',
    lost
      ? `data dir ${dir} holds LevelDB files (${data.slice(0, 3).join(', ')}${data.length > 3 ? ', ...' : ''}) but no CURRENT file: the database is damaged and was left untouched; repair it with tsvm repair (it backs the data dir up first) or restore it from a backup`
      : `data dir ${dir} is not empty and holds no database (found ${data.slice(0, 3).join(', ')}${data.length > 3 ? ', ...' : ''}): pass an empty or new --data-dir`,
    {details: {files: data.length}},
  )
}

/** The absolute path of a data dir, through symbolic links when it exists. */
export function canonicalDir(location: string): string {
  const dir = resolve(location)
  try {
    return realpathSync(dir)
  } catch {
    return dir
  }
}

/**
 * Checks that `location` holds a database, before a repair. Returns the canonical path.
 * DB_OPEN_FAILED when there is no database there, DB_LOCKED when this process has it open. Whether
 * another process has it open is for the repair's lock to say (lockDataDir): a probe here would
 * leave a window between the probe and the repair.
 */
export function checkRepairable(location: string): string {
  const dir = canonicalDir(location)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    throw new TsvmError(
      'DB_OPEN_FAILED',
      `data dir ${dir} does not exist or is not a readable directory: nothing to repair; check --data-dir`,
    )
  }

  if (!names.some((n) => n === 'CURRENT' || LEVELDB_DATA_FILE.test(n))) {
    throw new TsvmError(
      'DB_OPEN_FAILED',
      `data dir ${dir} holds no LevelDB files: nothing to repair; check --data-dir`,
      {details: {files: names.length}},
    )
  }

  if (OPEN_DIRS.has(dir))
    throw new TsvmError('DB_LOCKED', `data dir ${dir} is open in this process: close it before repairing it`)
  return dir
}

/** How ChainState.open treats a dir without a database. */
export interface OpenOptions {
  /**
   * Create the database when the dir does not exist or holds none (default true). With false,
   * such a dir is NOT_INITIALIZED and nothing is created, not even the dir: for commands that
   * only read.
   */
  create?: boolean
}

function notInitialized(dir: string, why: string): TsvmError {
  return new TsvmError(
    'NOT_INITIALIZED',
    `no chain in ${dir}: the directory ${why}; check --data-dir (or TSVM_DATA_DIR), or create a chain there with tsvm init, propose or stamp`,
    {details: {dataDir: dir}},
  )
}

/** Directories this process holds open (classic-level gives its lock up when a second open fails). */
const OPEN_DIRS = new Set<string>()

/** The LevelDB handle and the typed reads and writes of the VM's state. */
export class ChainState {
  private readonly cache = new Lru<BlockRecord>(BLOCK_CACHE_SIZE)
  /** Stored records written but not yet in the cache (see write), and how many. */
  private uncached: RecordList[] = []
  private uncachedCount = 0
  private closed = false
  /** Set by the first failed write; every write is refused until reopen() clears it. */
  private failed: TsvmError | undefined
  /** The last write handed to write(): the next one starts only once it has settled (or at once, none outstanding). */
  private lastWrite: Promise<unknown> = Promise.resolve()
  /** Writes handed to write() and not yet finished (waiting for the one before, or in LevelDB). */
  private writesOutstanding = 0
  /** Set by poison(): reopen() keeps refusing. */
  private poisoned = false

  private constructor(
    readonly db: StateDb,
    readonly dir: string,
    /** True when this open created the database (the dir was missing or held none). */
    readonly created: boolean,
    /** False for a database someone else opened (onDatabase): no data-dir lock of ours to free. */
    private readonly local = true,
  ) {}

  /**
   * The state on a database opened elsewhere (the node's rpcdb in the plugin); `name` stands in
   * for the data dir in messages. close() closes the handle.
   */
  static async onDatabase(db: StateDb, name: string): Promise<ChainState> {
    await db.open()
    return new ChainState(db, name, false, false)
  }

  /**
   * Opens the database in `dir`, creating it unless `create` is false. Refuses, before LevelDB
   * touches anything: a dir mid-repair (DB_LOCKED while the repair runs, REPAIR_INCOMPLETE after
   * one was killed), a dir it may not write (DATA_DIR_PERMISSION), a missing or empty dir with
   * create false (NOT_INITIALIZED); then DB_LOCKED, DB_CORRUPT, DISK_FULL or DB_OPEN_FAILED.
   */
  static async open(location: string, options: OpenOptions = {}): Promise<ChainState> {
    const create = options.create ?? true
    const dir = canonicalDir(location)
    if (OPEN_DIRS.has(dir) || lockedHere(dir)) {
      throw new TsvmError('DB_LOCKED', `data dir ${dir} is already open in this process: close it first`)
    }

    refuseMidRepair(dir)
    const existed = existsSync(dir)
    if (!existed && !create) throw notInitialized(dir, 'does not exist')
    checkAccess(dir, existed)
    refuseOrphanedFiles(dir)
    const hadDb = existed && existsSync(join(dir, 'CURRENT'))
    if (!hadDb && !create) throw notInitialized(dir, 'holds no chain')
    const before = existed ? readdirSync(dir) : undefined
    OPEN_DIRS.add(dir)
    const db = new Level<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: create,
    })
    let opened = false
    try {
      await db.open()
      opened = true
      // LevelDB holds the dir's lock now, so no repair can start; one that started after the
      // first look holds the lock itself (and the open failed above), or is putting its copy
      // in place where this open just created a database: the marker says so.
      refuseMidRepair(dir)
    } catch (error) {
      if (db.status === 'open') await db.close()
      OPEN_DIRS.delete(dir)
      const reason = error instanceof TsvmError ? error : openError(dir, error)
      // Not when another process holds the lock: the database may be its, being created.
      if (!hadDb && (opened || reason.code !== 'DB_LOCKED')) undoCreate(dir, before)
      throw reason
    }

    return new ChainState(db, dir, !hadDb)
  }

  /** Applies a batch atomically; `sync` waits until it is on disk. */
  async write(batch: StateBatch, options: {sync?: boolean} = {}): Promise<void> {
    await this.prepare(batch).write(options)
  }

  /**
   * Hands a batch's writes to LevelDB without applying them: `write` applies them atomically
   * later, `discard` drops them. Lets a caller fill the next batch while the previous one's
   * synced write is still in flight.
   */
  prepare(batch: StateBatch): PreparedWrite {
    this.refuseIfFailed()
    if (batch.size === 0 && !batch.sink) return {async write() {}, async discard() {}}
    let chained: ChainedBatch
    if (batch.sink) {
      chained = batch.sink as ChainedBatch
    } else {
      // A chained batch hands each op to LevelDB as it comes; for the thousands of ops of a group
      // commit it allocates far less than an array batch, which copies and re-encodes every op.
      chained = this.db.batch()
      const {keys, values} = batch
      for (let i = 0; i < keys.length; i++) {
        const value = values[i]
        if (value === undefined) chained.del(keys[i]!)
        else chained.put(keys[i]!, value)
      }
    }

    const {stored, runs} = batch
    return {
      write: (options = {}) => {
        // One write at a time, each checked against the failure of the one before: a write
        // queued in LevelDB behind a failing one would land behind its torn record.
        const start = async () => {
          try {
            if (this.failed) {
              await chained.close().catch(() => {})
              throw this.failed
            }

            try {
              await chained.write({sync: options.sync ?? false})
            } catch (error) {
              this.failed ??= writeFailure(error)
              throw this.failed
            }

            this.written(stored)
            for (const run of runs) this.written(runRecords(run))
          } finally {
            // Before the write's promise settles: whoever awaited it finds none outstanding.
            this.writesOutstanding--
          }
        }

        // With none outstanding, LevelDB gets this write now, inside this call. Chained after a
        // settled promise, it would start only when the caller next yields; a group commit that
        // reports one group and builds the next before it yields would leave the disk idle all
        // that time.
        const run = this.writesOutstanding++ === 0 ? start() : this.lastWrite.then(start)
        this.lastWrite = run.catch(() => {})
        return run
      },
      discard: () => chained.close(),
    }
  }

  /**
   * A batch whose writes are handed to LevelDB as they are added, keeping nothing per write
   * (a group commit adds 300,000): prepare it to write it, or to discard it.
   */
  directBatch(): StateBatch {
    this.refuseIfFailed()
    // A data dir's classic-level copies each op into its native batch at once; the node's rpcdb
    // keeps the arrays it is given until the write.
    return new StateBatch(this.db.batch(), this.local)
  }

  /** Why writes are refused (DB_WRITE_FAILED): a write failed and reopen() has not yet succeeded. */
  get failure(): TsvmError | undefined {
    return this.failed
  }

  /** Refuses every write from now on, for good (reopen() does not clear it): for a loss found after a reopen. */
  poison(error: TsvmError): void {
    this.failed = error
    this.poisoned = true
  }

  private refuseIfFailed(): void {
    if (this.failed) throw this.failed
  }

  /** Reads go on through a failed handle; only a failed reopen leaves nothing to read from. */
  private readable(): void {
    if (this.failed && this.db.status !== 'open') throw this.failed
  }

  /**
   * After a failed write: closes the database and opens it again, which replays the log up to
   * its last whole record (what was acknowledged) and starts a new log; then writes a test key
   * with sync, closes and opens once more, and reads it back. Only then are writes taken again.
   * Throws DB_WRITE_FAILED, writes still refused, when any step fails (e.g. the disk is still
   * full); call it again later. The caller must reload whatever it keeps in memory: the failed
   * write may have reached the disk after all.
   */
  async reopen(): Promise<void> {
    if (!this.failed) return
    if (this.closed || this.poisoned) throw this.failed
    await this.lastWrite
    try {
      await this.db.close()
      // Never create a database here: a missing one means the data dir went away.
      await this.db.open({createIfMissing: false})
      const token = new Uint8Array(randomBytes(16))
      await this.db.put(PROBE_KEY, token, SYNCED as object)
      await this.db.close()
      await this.db.open({createIfMissing: false})
      const back = await this.db.get(PROBE_KEY)
      if (back === undefined || !bytesEqual(back, token))
        throw new Error('a synced test write did not read back after a reopen')
      await this.db.del(PROBE_KEY, SYNCED as object)
    } catch (error) {
      this.failed = new TsvmError(
        'DB_WRITE_FAILED',
        `writes stay refused: after a failed write (${causeText(this.failed.cause)}) the database could not be reopened and shown to take writes (${causeText(error)}); free space or fix the data dir, then try again`,
        {cause: error},
      )
      throw this.failed
    }

    this.failed = undefined
    this.cache.clear()
    this.uncached = []
    this.uncachedCount = 0
  }

  /** Notes records a landed batch stored, for the cache. */
  private written(stored: RecordList): void {
    // The cache catches up on the next read, not here: `propose -` writes 100,000 blocks in
    // groups and reads none of them, and hexing every ID into an LRU that evicts it again two
    // groups later was a tenth of its run time.
    if (stored.length === 0) return
    this.uncached.push(stored)
    this.uncachedCount += stored.length
    // Only the newest WRITTEN_WINDOW records go to the cache: drop older whole batches. A stored
    // record is a decided block's, which never changes, so a cached copy never goes stale.
    while (this.uncachedCount - this.uncached[0]!.length >= WRITTEN_WINDOW) {
      this.uncachedCount -= this.uncached.shift()!.length
    }
  }

  /** Inserts the newest records written since the last read into the cache, oldest first. */
  private catchUpCache(): void {
    if (this.uncachedCount === 0) return
    let skip = Math.max(0, this.uncachedCount - WRITTEN_WINDOW)
    for (const records of this.uncached) {
      for (let i = Math.min(skip, records.length); i < records.length; i++) {
        const record = records.at(i)!
        this.cache.set(hexKey(record.block.id), record)
      }

      skip = Math.max(0, skip - records.length)
    }

    this.uncached = []
    this.uncachedCount = 0
  }

  async isInitialized(): Promise<boolean> {
    this.readable()
    return (await this.db.get(INITIALIZED_KEY)) !== undefined
  }

  async genesisBytes(): Promise<Uint8Array | undefined> {
    this.readable()
    return plain(await this.db.get(GENESIS_KEY))
  }

  async lastAcceptedId(): Promise<Uint8Array | undefined> {
    this.readable()
    return plain(await this.db.get(LAST_ACCEPTED_KEY))
  }

  async preferredId(): Promise<Uint8Array | undefined> {
    this.readable()
    return plain(await this.db.get(PREFERRED_KEY))
  }

  /** A decided block (accepted or rejected) by ID. */
  /** A stored block when it is in the block cache (no read), else undefined: then ask getStored. */
  cachedStored(id: Uint8Array): BlockRecord | undefined {
    this.catchUpCache()
    return this.cache.get(hexKey(id))
  }

  async getStored(id: Uint8Array): Promise<BlockRecord | undefined> {
    this.catchUpCache()
    const k = hexKey(id)
    const hit = this.cache.get(k)
    if (hit) return hit
    this.readable()
    const value = await this.db.get(blockKey(id))
    if (value === undefined) return undefined
    const record = decodeStored(plain(value))
    this.cache.set(k, record)
    return record
  }

  /** The accepted block ID at a height. */
  async idAtHeight(height: bigint): Promise<Uint8Array | undefined> {
    this.readable()
    if (height < 0n || height > 0xff_ff_ff_ff_ff_ff_ff_ffn) return undefined
    return plain(await this.db.get(heightKey(height)))
  }

  /** IDs of every block (any status) that holds `data`. */
  async idsByData(data: Uint8Array): Promise<Uint8Array[]> {
    this.readable()
    const gte = concatBytes(DATA_PREFIX, data)
    const ids: Uint8Array[] = []
    for await (const key of this.db.keys({gte, lt: prefixEnd(gte)})) ids.push(new Uint8Array(key.subarray(gte.length)))
    return ids
  }

  /** Accepted (height, id) pairs from `fromHeight` down, at most `limit`. */
  heightsDescending(fromHeight: bigint, limit: number): AsyncIterable<[bigint, Uint8Array]> {
    this.readable()
    const it = this.db.iterator({gte: heightKey(0n), lte: heightKey(fromHeight), reverse: true, limit})
    return (async function* () {
      try {
        for await (const [k, v] of it) yield [readU64(k, HEIGHT_PREFIX.length), plain(v)] as [bigint, Uint8Array]
      } finally {
        await it.close()
      }
    })()
  }

  /** The whole mempool, oldest first. */
  async loadMempool(): Promise<MempoolEntry[]> {
    this.readable()
    const out: MempoolEntry[] = []
    for await (const [k, v] of this.db.iterator({gte: MEMPOOL_PREFIX, lt: prefixEnd(MEMPOOL_PREFIX)})) {
      out.push({seq: readU64(k, MEMPOOL_PREFIX.length), data: plain(v)})
    }

    return out
  }

  /** Every processing block. */
  async loadProcessing(): Promise<Block[]> {
    this.readable()
    const out: Block[] = []
    for await (const v of this.db.values({gte: PROCESSING_PREFIX, lt: prefixEnd(PROCESSING_PREFIX)})) {
      out.push(parseBlock(plain(v)))
    }

    return out
  }

  /** True when the database holds no key at all: created, and nothing written to it yet. */
  async isEmpty(): Promise<boolean> {
    this.readable()
    const keys = await this.db.keys({limit: 1}).all()
    return keys.length === 0
  }

  /** Iterates every key/value under a prefix, in key order. */
  async *scan(prefix: Uint8Array): AsyncGenerator<[Uint8Array, Uint8Array]> {
    this.readable()
    for await (const [k, v] of this.db.iterator({gte: prefix, lt: prefixEnd(prefix)})) yield [plain(k), plain(v)]
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.db.close()
    } finally {
      if (this.local) OPEN_DIRS.delete(this.dir)
    }
  }
}

function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The error of the first failed write, which every later write meets until reopen() succeeds. */
function writeFailure(error: unknown): TsvmError {
  return new TsvmError(
    'DB_WRITE_FAILED',
    `a write to the database failed (${causeText(error)}): that write and every later one are refused until the database has been reopened and a test write reads back, so nothing can land behind the failed one; free space or fix the data dir, then run the command again (tsvm serve retries by itself)`,
    {cause: error},
  )
}

/** Decodes a stored blkWrapper; DB_CORRUPT when it does not decode. */
export function decodeStored(value: Uint8Array): BlockRecord {
  try {
    return decodeWrapper(value)
  } catch (error) {
    throw new TsvmError('DB_CORRUPT', `a stored block does not decode (${(error as Error).message}): run tsvm check`, {
      cause: error,
    })
  }
}
