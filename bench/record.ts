// Records every write the VM makes to LevelDB (the batches, with their keys, values and sync
// flag) so a bare classic-level loop can replay exactly the same writes as the baseline. It wraps
// the write functions of classic-level's native addon, below every JS layer, so it sees the
// writes of the CLI's bundled copy of classic-level as well as those of node_modules: Node loads
// the addon once per process and both copies call into the same object. The benchmark uses it
// in untimed runs only.
import {createRequire} from 'node:module'
import {dirname} from 'node:path'

import {ClassicLevel} from 'classic-level'

/** One write to the database: a batch (or a lone put/del) and whether it was synced. */
export interface Write {
  sync: boolean
  ops: Op[]
}

export type Op = {type: 'put'; key: Uint8Array; value: Uint8Array} | {type: 'del'; key: Uint8Array}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the native binding's functions, untyped, wrapped and called through
type AnyFn = (...args: any[]) => any

const bytes = (x: unknown): Uint8Array => (typeof x === 'string' ? Buffer.from(x) : (x as Uint8Array).slice())

/** The addon classic-level loads (one object per process). */
function addon(): Record<string, AnyFn> {
  const fromLevel = createRequire(createRequire(import.meta.url).resolve('level'))
  const pkg = fromLevel.resolve('classic-level/package.json')
  return createRequire(pkg)('node-gyp-build')(dirname(pkg)) as Record<string, AnyFn>
}

const sync = (options: unknown) => (options as {sync?: boolean} | undefined)?.sync === true

/** Starts recording; stop() restores the original functions. */
export function startRecording(): {writes: Write[]; stop(): void} {
  const writes: Write[] = []
  const binding = addon()
  const saved = {...binding}
  const pending = new WeakMap<object, Op[]>()
  const opsOf = (ctx: object) => pending.get(ctx) ?? (pending.set(ctx, []), pending.get(ctx)!)
  binding.db_put = (ctx, key, value, options) => {
    writes.push({sync: sync(options), ops: [{type: 'put', key: bytes(key), value: bytes(value)}]})
    return saved.db_put!(ctx, key, value, options)
  }

  binding.db_del = (ctx, key, options) => {
    writes.push({sync: sync(options), ops: [{type: 'del', key: bytes(key)}]})
    return saved.db_del!(ctx, key, options)
  }

  binding.batch_do = (ctx, operations: Array<{type: string; key: unknown; value?: unknown}>, options) => {
    writes.push({
      sync: sync(options),
      ops: operations.map((o) =>
        o.type === 'put' ? {type: 'put', key: bytes(o.key), value: bytes(o.value)} : {type: 'del', key: bytes(o.key)},
      ),
    })
    return saved.batch_do!(ctx, operations, options)
  }

  binding.batch_put = (ctx, key, value) => {
    opsOf(ctx).push({type: 'put', key: bytes(key), value: bytes(value)})
    return saved.batch_put!(ctx, key, value)
  }

  binding.batch_del = (ctx, key) => {
    opsOf(ctx).push({type: 'del', key: bytes(key)})
    return saved.batch_del!(ctx, key)
  }

  binding.batch_clear = (ctx) => {
    pending.delete(ctx)
    return saved.batch_clear!(ctx)
  }

  binding.batch_write = (ctx, options) => {
    writes.push({sync: sync(options), ops: opsOf(ctx)})
    pending.delete(ctx)
    return saved.batch_write!(ctx, options)
  }

  return {
    writes,
    stop() {
      Object.assign(binding, saved)
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
