// The node's database as an abstract-level database, so the VM's ChainState runs on it exactly
// as it runs on classic-level. The node serves rpcdb.Database at InitializeRequest.db_server_addr;
// its semantics (AvalancheGo v1.14.2 database/rpcdb) shape this client:
//
//   - Every reply carries an in-band `err` with status OK: 0 ok, 1 closed, 2 not found. Found or
//     not found is decided by `err` alone: an existing EMPTY value comes back with `value`
//     absent, which decodes to empty bytes, so the VM's empty values (Go's initialized flag, the
//     data index) read back as present, empty values and need no special encoding here.
//   - A WriteBatch applies all puts in order, then all deletes: a key put after it was deleted in
//     the same batch would end deleted. So a batch keeps only the last operation per key, as the
//     Go client does, and one batch is one WriteBatch call (atomic on the node).
//   - Iterators go forward from a start key within a prefix, in pages of ~128 KiB; an empty page
//     is the end, then IteratorError and always IteratorRelease. A range [gte, lt) becomes
//     start = gte and prefix = the common prefix of its bounds (every key in the range has it),
//     with the upper bound checked here. Reverse iteration reads the range forward and reverses it
//     (the plugin never lists blocks backwards; `tsvm blocks` runs on classic-level).
//   - After an unexpected failure (a non-OK status) every later call fails with the same error,
//     as Go's corruptabledb does: the VM must not go on acknowledging on a broken store.
import {AbstractIterator, AbstractLevel} from 'abstract-level'

import {toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {UnaryClient} from './h2grpc.js'
import {DatabaseService, DbError} from './messages.js'

type Entry = [Uint8Array, Uint8Array]

interface RangeOptions {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  reverse: boolean
  limit: number
  keys: boolean
  values: boolean
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

function commonPrefix(a: Uint8Array, b: Uint8Array): Uint8Array {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return a.subarray(0, i)
}

/** The rpcdb.Database client: typed calls, in-band errors, fail-stop after an unexpected error. */
export class RpcDbClient {
  private readonly rpc: UnaryClient
  private failure: TsvmError | undefined

  constructor(readonly address: string) {
    this.rpc = new UnaryClient(address)
  }

  private async call<Req, Res>(
    method: (typeof DatabaseService)[keyof typeof DatabaseService],
    request: Partial<Req>,
  ): Promise<Res> {
    if (this.failure) throw this.failure
    try {
      return (await this.rpc.call(method as never, request as never)) as Res
    } catch (error) {
      this.failure = new TsvmError(
        'IO_ERROR',
        `the node's database at ${this.address} failed (${(error as Error).message}): the VM stops writing; restart the chain`,
        {cause: error},
      )
      throw this.failure
    }
  }

  private checked(err: number, what: string): void {
    if (err === DbError.UNSPECIFIED) return
    if (err === DbError.CLOSED)
      throw new TsvmError('DB_OPEN_FAILED', `the node's database is closed (${what}): the chain is shutting down`)
    throw new TsvmError('IO_ERROR', `the node's database answered ${what} with error ${err}`)
  }

  /** The value, or undefined when the key is absent (an empty value is present). */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const r = await this.call<unknown, {value: Uint8Array; err: number}>(DatabaseService.Get, {key})
    if (r.err === DbError.NOT_FOUND) return undefined
    this.checked(r.err, 'Get')
    return r.value
  }

  /** Applies puts then deletes atomically (the caller de-duplicates keys). */
  async writeBatch(puts: Entry[], deletes: Uint8Array[]): Promise<void> {
    const r = await this.call<unknown, {err: number}>(DatabaseService.WriteBatch, {
      puts: puts.map(([key, value]) => ({key, value})),
      deletes: deletes.map((key) => ({key})),
    })
    this.checked(r.err, 'WriteBatch')
  }

  /** Opens a forward iterator; returns its id. */
  async newIterator(start: Uint8Array, prefix: Uint8Array): Promise<bigint> {
    return (await this.call<unknown, {id: bigint}>(DatabaseService.NewIteratorWithStartAndPrefix, {start, prefix})).id
  }

  /** The next page of an iterator; empty at the end. */
  async next(id: bigint): Promise<Entry[]> {
    const r = await this.call<unknown, {data: Array<{key: Uint8Array; value: Uint8Array}>}>(
      DatabaseService.IteratorNext,
      {id},
    )
    return r.data.map((d) => [d.key, d.value])
  }

  async iteratorError(id: bigint): Promise<void> {
    this.checked((await this.call<unknown, {err: number}>(DatabaseService.IteratorError, {id})).err, 'IteratorError')
  }

  async release(id: bigint): Promise<void> {
    await this.call(DatabaseService.IteratorRelease, {id})
  }

  /** The node's health JSON for its database. */
  async health(): Promise<string> {
    const r = await this.call<unknown, {details: Uint8Array}>(DatabaseService.HealthCheck, {})
    return new TextDecoder().decode(r.details)
  }

  /** Closes the connection (not the node's database: the node owns it). */
  close(): void {
    this.rpc.close()
  }
}

/** An iterator over an rpcdb range. */
class RpcIterator extends AbstractIterator<RpcLevel, Uint8Array, Uint8Array> {
  private id: bigint | undefined
  private page: Entry[] = []
  private at = 0
  private ended = false
  private reversed: Entry[] | undefined

  constructor(
    db: RpcLevel,
    private readonly range: RangeOptions,
    private readonly client: RpcDbClient,
  ) {
    super(db, range as never)
  }

  private inRange(key: Uint8Array): 'before' | 'in' | 'after' {
    const {gt, lt, lte} = this.range
    if (gt !== undefined && compare(key, gt) <= 0) return 'before'
    if (lt !== undefined && compare(key, lt) >= 0) return 'after'
    if (lte !== undefined && compare(key, lte) > 0) return 'after'
    return 'in'
  }

  /** The next entry of the forward scan, or undefined at the end. */
  private async forward(): Promise<Entry | undefined> {
    for (;;) {
      if (this.ended) return undefined
      if (this.at < this.page.length) {
        const entry = this.page[this.at++]!
        const where = this.inRange(entry[0])
        if (where === 'before') continue
        if (where === 'after') {
          await this.finish()
          return undefined
        }

        return entry
      }

      if (this.id === undefined) {
        const {gt, gte, lt, lte} = this.range
        const start = gte ?? gt ?? new Uint8Array(0)
        const upper = lt ?? lte
        this.id = await this.client.newIterator(
          start,
          upper === undefined ? new Uint8Array(0) : commonPrefix(start, upper),
        )
      }

      this.page = await this.client.next(this.id)
      this.at = 0
      if (this.page.length === 0) await this.finish()
    }
  }

  private async finish(): Promise<void> {
    if (this.ended) return
    this.ended = true
    const {id} = this
    this.id = undefined
    if (id === undefined) return
    try {
      await this.client.iteratorError(id)
    } finally {
      await this.client.release(id)
    }
  }

  async _next(): Promise<Entry | undefined> {
    if (!this.range.reverse) return this.forward()
    if (this.reversed === undefined) {
      const all: Entry[] = []
      for (let e = await this.forward(); e !== undefined; e = await this.forward()) all.push(e)
      this.reversed = all.reverse()
    }

    return this.reversed.shift()
  }

  async _nextv(size: number): Promise<Entry[]> {
    const out: Entry[] = []
    while (out.length < size) {
      const e = await this._next()
      if (e === undefined) break
      out.push(e)
      // Hand over what the current page holds rather than fetching the next one for this call.
      if (!this.range.reverse && this.at >= this.page.length) break
    }

    return out
  }

  async _close(): Promise<void> {
    await this.finish()
  }
}

/**
 * The node's database behind the abstract-level interface (keys and values as Uint8Array), for
 * ChainState. Batches are de-duplicated (last operation per key) and sent as one WriteBatch.
 */
export class RpcLevel extends AbstractLevel<Uint8Array, Uint8Array, Uint8Array> {
  constructor(readonly client: RpcDbClient) {
    super(
      {encodings: {view: true}, permanence: true, seek: false, createIfMissing: false, errorIfExists: false},
      {
        keyEncoding: 'view',
        valueEncoding: 'view',
      },
    )
  }

  async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.client.get(key)
  }

  async _getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return Promise.all(keys.map((k) => this.client.get(k)))
  }

  async _put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.client.writeBatch([[key, value]], [])
  }

  async _del(key: Uint8Array): Promise<void> {
    await this.client.writeBatch([], [key])
  }

  async _batch(operations: Array<{type: 'put' | 'del'; key: Uint8Array; value?: Uint8Array}>): Promise<void> {
    // Last operation per key wins; the node applies all puts before all deletes.
    const last = new Map<string, {type: 'put' | 'del'; key: Uint8Array; value?: Uint8Array}>()
    for (const op of operations) {
      const k = toHex(op.key)
      last.delete(k) // keep the order of last occurrence
      last.set(k, op)
    }

    const puts: Entry[] = []
    const deletes: Uint8Array[] = []
    for (const op of last.values()) {
      if (op.type === 'put') puts.push([op.key, op.value ?? new Uint8Array(0)])
      else deletes.push(op.key)
    }

    await this.client.writeBatch(puts, deletes)
  }

  _iterator(options: RangeOptions): RpcIterator {
    return new RpcIterator(this, options, this.client)
  }

  async _close(): Promise<void> {
    this.client.close()
  }
}
