// Data dirs holding what the Go TimestampVM writes: a chain built by tsvm with every tsvm-only
// key removed, so only Go's `block` and `singleton` spaces are left (spec §5). tsvm writes those
// byte for byte as Go does (test/vm/state.test.ts), so this is the state a Go node leaves.
import {createHash} from 'node:crypto'

import {ClassicLevel} from 'classic-level'

import {BLOCK_PREFIX, SINGLETON_PREFIX} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'

/** A payload that is unique per `i` (and per `tag`). */
export function payload(i: number, tag = 'p'): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`${tag}${i}`).digest())
}

/**
 * A tsvm chain in `dir` with genesis bytes "e2e", `blocks` accepted blocks after genesis and
 * `rejected` rejected ones spread along it, on a fixed clock; nothing left queued or processing.
 */
export async function buildChain(dir: string, blocks: number, rejected: number): Promise<void> {
  let t = 1_700_000_000_000
  const vm = await TimestampVM.open(dir, {
    now() {
      t += 1000
      return t
    },
  })
  try {
    await vm.initialize(new TextEncoder().encode('e2e'))
    const step = Math.max(1, Math.floor(blocks / (rejected + 1)))
    let done = 0
    for (let r = 0; r <= rejected; r++) {
      const n = r === rejected ? blocks - done : Math.min(step, blocks - done)
      for (let i = 0; i < n; i += 1000) {
        await vm.acceptPayloads(Array.from({length: Math.min(1000, n - i)}, (_, k) => payload(done + i + k)))
      }

      done += n
      if (r < rejected) {
        await vm.proposeBlock(payload(r, 'rejected'))
        const b = await vm.buildBlock()
        await vm.reject(b.id)
      }
    }
  } finally {
    await vm.close()
  }
}

/** Every key and value of a database, as hex, in key order. */
export async function dump(dir: string): Promise<Map<string, string>> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  })
  await db.open()
  const out = new Map<string, string>()
  try {
    for await (const [k, v] of db.iterator()) out.set(Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex'))
  } finally {
    await db.close()
  }

  return out
}

const startsWith = (key: Uint8Array, prefix: Uint8Array) =>
  key.length > prefix.length && prefix.every((b, i) => key[i] === b)

/** Deletes every key that is not in Go's `block` or `singleton` space; returns how many. */
export async function stripToGo(dir: string): Promise<number> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  })
  await db.open()
  let n = 0
  try {
    const batch = db.batch()
    for await (const k of db.keys()) {
      if (startsWith(k, BLOCK_PREFIX) || startsWith(k, SINGLETON_PREFIX)) continue
      batch.del(k)
      n++
    }

    await batch.write({sync: true})
    await db.compactRange(new Uint8Array(0), new Uint8Array(64).fill(0xff))
  } finally {
    await db.close()
  }

  return n
}

/** Runs `fn` on the raw database of `dir`. */
export async function withDb<T>(dir: string, fn: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  })
  await db.open()
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}
