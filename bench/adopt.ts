// Adopting a chain the Go VM wrote (src/vm/adopt.ts) against bare classic-level loops on copies
// of the same Go-only state, each timed from an open database to its end, taking turns:
//   - reading the same keys: the whole block space in key order with `for await`, without
//     decoding (chain.adopt, the goal's baseline);
//   - reading them with nextv, 1,000 entries and up to 1 MiB a call, the next call in flight
//     while a chunk is handled: the adoption's own read pattern, faster than `for await`
//     (chain.adopt-nextv, reported against the same goal so that it does not rest on a slow loop);
//   - that nextv read, then the very writes the adoption makes (the same keys and values in the
//     same order, batches and syncs: the marker, the index batches, the final batch), prepared
//     before the clock starts: what LevelDB needs for the adoption's I/O with no checking at all
//     (chain.adopt-floor, reported).
// The adoption reads and verifies every block, then writes the height and payload indexes.
import {Buffer} from 'node:buffer'
import {randomBytes} from 'node:crypto'
import {cp} from 'node:fs/promises'
import {join} from 'node:path'

import {ClassicLevel} from 'classic-level'

import {ADOPT_BATCH_SIZE, adoptState} from '../src/vm/adopt.js'
import {
  ADOPTING_KEY,
  BLOCK_PREFIX,
  ChainState,
  DATA_PREFIX,
  GENESIS_KEY,
  HEIGHT_PREFIX,
  PREFERRED_KEY,
  prefixEnd,
  SINGLETON_PREFIX,
} from '../src/vm/state.js'
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

/** One of the floor's writes: a put, or a delete when `value` is undefined. */
type Op = [key: Uint8Array, value: Uint8Array | undefined]

/**
 * The adoption's writes, batch by batch, read back from a copy it adopted: the marker; the
 * height index then the payload index in key order (the order adoption writes them in), in
 * batches of 2 x ADOPT_BATCH_SIZE; the genesis bytes, the preference and the marker's removal.
 */
async function adoptionWrites(adopted: string): Promise<Op[][]> {
  const db = await openDb(adopted)
  try {
    const index: Op[] = []
    for (const prefix of [HEIGHT_PREFIX, DATA_PREFIX].sort((a, b) => Buffer.compare(a, b))) {
      for await (const [k, v] of db.iterator({gte: prefix, lt: prefixEnd(prefix)})) index.push([k, v])
    }

    const batches: Op[][] = [[[ADOPTING_KEY, (await db.get(PREFERRED_KEY))!]]]
    for (let i = 0; i < index.length; i += 2 * ADOPT_BATCH_SIZE) batches.push(index.slice(i, i + 2 * ADOPT_BATCH_SIZE))
    batches.push([
      [GENESIS_KEY, (await db.get(GENESIS_KEY))!],
      [PREFERRED_KEY, (await db.get(PREFERRED_KEY))!],
      [ADOPTING_KEY, undefined],
    ])
    return batches
  } finally {
    await db.close()
  }
}

/** The bare nextv read of the block space (the adoption's read pattern); returns the entries read. */
async function readNextv(db: Db): Promise<number> {
  const it = db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX), highWaterMarkBytes: 1 << 20})
  let read = 0
  let pending = it.nextv(1000)
  try {
    for (;;) {
      const entries = await pending
      if (entries.length === 0) break
      pending = it.nextv(1000)
      for (const [k, v] of entries) read += k.length + v.length > 0 ? 1 : 0
    }
  } finally {
    await pending.catch(() => {})
    await it.close()
  }

  return read
}

/** Runs `fn` on a fresh copy of `source`, timed from the open database; wall and CPU milliseconds. */
async function timed(source: string, dir: string, fn: (db: Db) => Promise<void>): Promise<[number, number]> {
  await cp(source, dir, {recursive: true})
  const db = await openDb(dir)
  try {
    const cpu = process.cpuUsage()
    const start = performance.now()
    await fn(db)
    const wall = performance.now() - start
    const used = process.cpuUsage(cpu)
    return [wall, (used.user + used.system) / 1000]
  } finally {
    await db.close()
  }
}

/** Adoption: blocks/s over the whole adoption, against bare loops reading (and writing) the same keys. */
export async function adoptFigure(sizes: Sizes, workDir: string): Promise<Figure[]> {
  const n = sizes.adoptBlocks
  const source = join(workDir, 'go')
  progress(`adopt: building a Go state of ${n} blocks`)
  await goState(source, n)
  const once = join(workDir, 'adopted')
  await cp(source, once, {recursive: true})
  const first = await ChainState.open(once)
  try {
    await adoptState(first)
  } finally {
    await first.close()
  }

  const writes = await adoptionWrites(once)
  const runs = {adopt: [] as number[], read: [] as number[], nextv: [] as number[], floor: [] as number[]}
  const cpu = {adopt: [] as number[], read: [] as number[], nextv: [] as number[], floor: [] as number[]}
  const note = (what: keyof typeof runs, [wall, used]: [number, number]) => {
    runs[what].push(wall)
    cpu[what].push(used)
  }

  let blocks = 0
  let rejected = 0
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`adopt: run ${r + 1}/${sizes.repeats}`)
    note(
      'read',
      await timed(source, join(workDir, `read-${r}`), async (db) => {
        let read = 0
        for await (const [k, v] of db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)}))
          read += k.length + v.length > 0 ? 1 : 0
        if (read < n) throw new Error(`the bare loop read ${read} keys, expected more than ${n}`)
      }),
    )
    note(
      'nextv',
      await timed(source, join(workDir, `nextv-${r}`), async (db) => {
        const read = await readNextv(db)
        if (read < n) throw new Error(`the nextv loop read ${read} keys, expected more than ${n}`)
      }),
    )
    note(
      'floor',
      await timed(source, join(workDir, `floor-${r}`), async (db) => {
        await readNextv(db)
        for (const ops of writes) {
          const batch = db.batch()
          for (const [k, v] of ops)
            if (v === undefined) batch.del(k)
            else batch.put(k, v)
          await batch.write({sync: true})
        }
      }),
    )
    const dir = join(workDir, `adopt-${r}`)
    await cp(source, dir, {recursive: true})
    const state = await ChainState.open(dir)
    try {
      const used = process.cpuUsage()
      const start = performance.now()
      const report = await adoptState(state)
      const wall = performance.now() - start
      const {user, system} = process.cpuUsage(used)
      note('adopt', [wall, (user + system) / 1000])
      if (!report) throw new Error('nothing was adopted')
      ;({blocks, rejected} = report)
    } finally {
      await state.close()
    }
  }

  const total = blocks + rejected
  const value = (total * 1000) / median(runs.adopt)
  const rate = (ms: number[]) => (total * 1000) / median(ms)
  const detail = (baseline: keyof typeof runs) => ({
    blocks,
    rejected,
    ms: runs.adopt,
    baselineMs: runs[baseline],
    cpuMs: cpu.adopt,
    baselineCpuMs: cpu[baseline],
  })
  return [
    throughputFigure({
      id: 'chain.adopt',
      name: `adopt a Go-written chain (${blocks.toLocaleString('en-US')} blocks)`,
      value,
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop reading the block space (for await)',
        value: rate(runs.read),
        unit: 'blocks/s',
      },
      goal: '>= 0.5x',
      minRatio: 0.5,
      detail: detail('read'),
    }),
    throughputFigure({
      id: 'chain.adopt-nextv',
      name: 'adopt, against the fastest bare read of the same keys',
      value,
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop reading the block space (nextv, next read in flight)',
        value: rate(runs.nextv),
        unit: 'blocks/s',
      },
      goal: '>= 0.5x',
      minRatio: 0.5,
      detail: detail('nextv'),
    }),
    throughputFigure({
      id: 'chain.adopt-floor',
      name: "adopt, against a bare loop doing the adoption's reads and writes",
      value,
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop: nextv read, then the same writes in the same batches and syncs',
        value: rate(runs.floor),
        unit: 'blocks/s',
      },
      detail: detail('floor'),
    }),
  ]
}
