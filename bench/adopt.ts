// Adopting a chain the Go VM wrote (src/vm/adopt.ts) against two bare classic-level loops on
// copies of the same Go-only state, each timed from an open database to its end:
//   - reading the same keys: the whole block space, in key order, without decoding;
//   - reading them and writing the same index keys in batches of the same size (no verification,
//     no marker, no sync): what the adoption's writes cost LevelDB by themselves.
// The adoption reads and verifies every block, then writes the height and payload indexes.
import {randomBytes} from 'node:crypto'
import {cp} from 'node:fs/promises'
import {join} from 'node:path'

import {ClassicLevel} from 'classic-level'

import {adoptState, ADOPT_BATCH_SIZE} from '../src/vm/adopt.js'
import {BLOCK_PREFIX, ChainState, dataKey, heightKey, prefixEnd, readU64, SINGLETON_PREFIX} from '../src/vm/state.js'
import {TimestampVM} from '../src/vm/vm.js'
import {type Figure, median, progress, type Sizes, throughputFigure} from './lib.js'

type Db = ClassicLevel<Uint8Array, Uint8Array>
const openDb = async (dir: string): Promise<Db> => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  })
  await db.open()
  return db
}

const within = (key: Uint8Array, prefix: Uint8Array) =>
  key.length > prefix.length && prefix.every((b, i) => key[i] === b)

/** A tsvm chain of `blocks` accepted blocks (and a few rejected), with every tsvm-only key removed. */
async function goState(dir: string, blocks: number): Promise<void> {
  let t = 1_700_000_000_000
  const vm = await TimestampVM.open(dir, {
    now() {
      t += 1000
      return t
    },
  })
  try {
    await vm.initialize(new Uint8Array(0))
    for (let done = 0; done < blocks;) {
      const n = Math.min(4096, blocks - done)
      const all = randomBytes(32 * n)
      await vm.acceptPayloads(Array.from({length: n}, (_, i) => all.subarray(32 * i, 32 * i + 32)))
      done += n
      await vm.proposeBlock(randomBytes(32))
      await vm.reject((await vm.buildBlock()).id)
    }
  } finally {
    await vm.close()
  }

  const db = await openDb(dir)
  try {
    const batch = db.batch()
    for await (const k of db.keys()) if (!within(k, BLOCK_PREFIX) && !within(k, SINGLETON_PREFIX)) batch.del(k)
    await batch.write({sync: true})
    await db.compactRange(new Uint8Array(0), new Uint8Array(64).fill(0xff))
  } finally {
    await db.close()
  }
}

/** The bare read-and-write loop: the block space read, one height and one payload key written per block. */
async function readWriteLoop(db: Db): Promise<number> {
  let batch = db.batch()
  let inBatch = 0
  let read = 0
  for await (const [k, v] of db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)})) {
    read++
    if (v.length !== 92) continue
    const id = k.subarray(BLOCK_PREFIX.length)
    batch.put(dataKey(v.subarray(56, 88), id), new Uint8Array(0))
    if (v[91] === 3) batch.put(heightKey(readU64(v, 40)), id)
    if (++inBatch === ADOPT_BATCH_SIZE) {
      await batch.write()
      batch = db.batch()
      inBatch = 0
    }
  }

  await batch.write()
  return read
}

/** Adoption: blocks/s over the whole adoption, against bare loops reading (and writing) the same keys. */
export async function adoptFigure(sizes: Sizes, workDir: string): Promise<Figure[]> {
  const n = sizes.adoptBlocks
  const source = join(workDir, 'go')
  progress(`adopt: building a Go state of ${n} blocks`)
  await goState(source, n)
  const ours: number[] = []
  const bare: number[] = []
  const bareWrites: number[] = []
  let blocks = 0
  let rejected = 0
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`adopt: run ${r + 1}/${sizes.repeats}`)
    const loopDir = join(workDir, `bare-${r}`)
    await cp(source, loopDir, {recursive: true})
    const db = await openDb(loopDir)
    try {
      let read = 0
      const start = performance.now()
      for await (const [k, v] of db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)}))
        read += k.length + v.length > 0 ? 1 : 0
      bare.push(performance.now() - start)
      if (read < n) throw new Error(`the bare loop read ${read} keys, expected more than ${n}`)
    } finally {
      await db.close()
    }

    const writeDir = join(workDir, `bare-writes-${r}`)
    await cp(source, writeDir, {recursive: true})
    const wdb = await openDb(writeDir)
    try {
      const start = performance.now()
      await readWriteLoop(wdb)
      bareWrites.push(performance.now() - start)
    } finally {
      await wdb.close()
    }

    const dir = join(workDir, `adopt-${r}`)
    await cp(source, dir, {recursive: true})
    const state = await ChainState.open(dir)
    try {
      const start = performance.now()
      const report = await adoptState(state)
      ours.push(performance.now() - start)
      if (!report) throw new Error('nothing was adopted')
      ;({blocks, rejected} = report)
    } finally {
      await state.close()
    }
  }

  const total = blocks + rejected
  const value = (total * 1000) / median(ours)
  return [
    throughputFigure({
      id: 'chain.adopt',
      name: `adopt a Go-written chain (${blocks.toLocaleString('en-US')} blocks)`,
      value,
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop reading the block space',
        value: (total * 1000) / median(bare),
        unit: 'blocks/s',
      },
      goal: '>= 0.5x',
      minRatio: 0.5,
      detail: {blocks, rejected, ms: ours, baselineMs: bare},
    }),
    throughputFigure({
      id: 'chain.adopt-writes',
      name: 'adopt, against reading and writing the same keys',
      value,
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop reading the block space, writing the index keys',
        value: (total * 1000) / median(bareWrites),
        unit: 'blocks/s',
      },
      goal: '>= 0.5x',
      minRatio: 0.5,
      detail: {blocks, rejected, ms: ours, baselineMs: bareWrites},
    }),
  ]
}
