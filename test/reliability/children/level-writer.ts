// Child process for the storage tests: opens a classic-level database and writes numbered
// batches until killed, printing "ack <n>" only after batch n resolved. Batch n puts
// KEYS_PER_BATCH keys "n/i" and moves the "head" key to n, as the state layer moves its
// last-accepted pointer in the same batch as the block. Usage: level-writer.js <dir> <from>
// (does nothing without arguments, so a test runner that loads every file under test/ is harmless).
import {ClassicLevel} from 'classic-level'

/** Keys each batch writes besides "head". */
export const KEYS_PER_BATCH = 16

/** The key of entry i of batch n: 8-byte big-endian n, then i. */
export function batchKey(n: number, i: number): Uint8Array {
  const k = new Uint8Array(9)
  new DataView(k.buffer).setBigUint64(0, BigInt(n))
  k[8] = i
  return k
}

async function main(dir: string, from: number): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  await db.open()
  const value = new Uint8Array(512).fill(7)
  for (let n = from; ; n++) {
    const ops: Array<{type: 'put'; key: Uint8Array; value: Uint8Array}> = []
    for (let i = 0; i < KEYS_PER_BATCH; i++) ops.push({type: 'put', key: batchKey(n, i), value})
    const head = new Uint8Array(8)
    new DataView(head.buffer).setBigUint64(0, BigInt(n))
    ops.push({type: 'put', key: new TextEncoder().encode('head'), value: head})
    await db.batch(ops, {sync: n % 2 === 0})
    process.stdout.write(`ack ${n}\n`)
  }
}

const [dir, from] = process.argv.slice(2)
if (dir !== undefined) await main(dir, Number(from ?? 0))
