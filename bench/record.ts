// Records every write the VM makes to LevelDB (the batches, with their keys, values and sync
// flag) so a bare classic-level loop can replay exactly the same writes as the baseline. It
// patches ClassicLevel's private write methods, below every encoding and sublevel, in this
// process only; the benchmark uses it in untimed runs.
import {createRequire} from 'node:module'

import {ClassicLevel} from 'classic-level'

/** One write to the database: a batch (or a lone put/del) and whether it was synced. */
export interface Write {
  sync: boolean
  ops: Op[]
}

export type Op = {type: 'put'; key: Uint8Array; value: Uint8Array} | {type: 'del'; key: Uint8Array}

type AnyFn = (this: any, ...args: any[]) => any

const bytes = (x: unknown): Uint8Array => (typeof x === 'string' ? Buffer.from(x) : (x as Uint8Array).slice())

/** Starts recording; stop() restores the original methods. */
export function startRecording(): {writes: Write[]; stop(): void} {
  const writes: Write[] = []
  const proto = ClassicLevel.prototype as unknown as Record<string, AnyFn>
  const ChainedBatch = createRequire(import.meta.url)('classic-level/chained-batch.js').ChainedBatch as {prototype: Record<string, AnyFn>}
  const chained = ChainedBatch.prototype
  const saved = {batch: proto._batch!, put: proto._put!, del: proto._del!, cput: chained._put!, cdel: chained._del!, cwrite: chained._write!}
  const pending = new WeakMap<object, Op[]>()
  proto._batch = function (operations: Array<{type: string; key: unknown; value?: unknown}>, options: {sync?: boolean}) {
    writes.push({
      sync: options?.sync === true,
      ops: operations.map((o) => (o.type === 'put' ? {type: 'put', key: bytes(o.key), value: bytes(o.value)} : {type: 'del', key: bytes(o.key)})),
    })
    return saved.batch.call(this, operations, options)
  }
  proto._put = function (key: unknown, value: unknown, options: {sync?: boolean}) {
    writes.push({sync: options?.sync === true, ops: [{type: 'put', key: bytes(key), value: bytes(value)}]})
    return saved.put.call(this, key, value, options)
  }
  proto._del = function (key: unknown, options: {sync?: boolean}) {
    writes.push({sync: options?.sync === true, ops: [{type: 'del', key: bytes(key)}]})
    return saved.del.call(this, key, options)
  }
  const opsOf = (b: object) => pending.get(b) ?? (pending.set(b, []), pending.get(b)!)
  chained._put = function (key: unknown, value: unknown) {
    opsOf(this).push({type: 'put', key: bytes(key), value: bytes(value)})
    return saved.cput.call(this, key, value)
  }
  chained._del = function (key: unknown) {
    opsOf(this).push({type: 'del', key: bytes(key)})
    return saved.cdel.call(this, key)
  }
  chained._write = function (options: {sync?: boolean}) {
    writes.push({sync: options?.sync === true, ops: opsOf(this)})
    return saved.cwrite.call(this, options)
  }
  return {
    writes,
    stop() {
      Object.assign(proto, {_batch: saved.batch, _put: saved.put, _del: saved.del})
      Object.assign(chained, {_put: saved.cput, _del: saved.cdel, _write: saved.cwrite})
    },
  }
}

/** Serialises writes: u32 count, then per write u8 sync, u32 ops, per op u8 type, u32 key length, key, [u32 value length, value]. */
export function encodeWrites(writes: Write[]): Buffer {
  let size = 4
  for (const w of writes) {
    size += 5
    for (const o of w.ops) size += 5 + o.key.length + (o.type === 'put' ? 4 + o.value.length : 0)
  }
  const buf = Buffer.alloc(size)
  let p = buf.writeUInt32BE(writes.length, 0)
  for (const w of writes) {
    p = buf.writeUInt8(w.sync ? 1 : 0, p)
    p = buf.writeUInt32BE(w.ops.length, p)
    for (const o of w.ops) {
      p = buf.writeUInt8(o.type === 'put' ? 1 : 0, p)
      p = buf.writeUInt32BE(o.key.length, p)
      buf.set(o.key, p)
      p += o.key.length
      if (o.type === 'put') {
        p = buf.writeUInt32BE(o.value.length, p)
        buf.set(o.value, p)
        p += o.value.length
      }
    }
  }
  return buf
}

/** The inverse of encodeWrites; keys and values are views into `buf`. */
export function decodeWrites(buf: Buffer): Write[] {
  const writes: Write[] = []
  let p = 0
  const u32 = () => {
    const v = buf.readUInt32BE(p)
    p += 4
    return v
  }
  const slice = (n: number) => {
    const v = buf.subarray(p, p + n)
    p += n
    return v
  }
  const count = u32()
  for (let i = 0; i < count; i++) {
    const sync = buf[p++] === 1
    const n = u32()
    const ops: Op[] = []
    for (let j = 0; j < n; j++) {
      const put = buf[p++] === 1
      const key = slice(u32())
      ops.push(put ? {type: 'put', key, value: slice(u32())} : {type: 'del', key})
    }
    writes.push({sync, ops})
  }
  return writes
}

/** Summary of a recording, for the results: how many writes, synced ones, ops and bytes. */
export function describeWrites(writes: Write[]): {writes: number; synced: number; ops: number; bytes: number} {
  let ops = 0
  let bytesTotal = 0
  for (const w of writes) {
    ops += w.ops.length
    for (const o of w.ops) bytesTotal += o.key.length + (o.type === 'put' ? o.value.length : 0)
  }
  return {writes: writes.length, synced: writes.filter((w) => w.sync).length, ops, bytes: bytesTotal}
}

/**
 * The baseline: opens a fresh classic-level DB at `dir` and applies the writes in order, one
 * chained batch each, awaiting each. Returns the milliseconds of the loop alone (open and close excluded).
 */
export async function replay(dir: string, writes: Write[]): Promise<number> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  await db.open()
  const start = performance.now()
  // The chained form: the fastest way classic-level offers to write a batch.
  for (const w of writes) {
    const batch = db.batch()
    for (const o of w.ops) {
      if (o.type === 'put') batch.put(o.key, o.value)
      else batch.del(o.key)
    }
    await batch.write({sync: w.sync})
  }
  const ms = performance.now() - start
  await db.close()
  return ms
}
