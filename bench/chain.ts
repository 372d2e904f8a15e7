// The embedded chain's write path against a bare classic-level loop replaying the very same
// batches (recorded from the VM's own run, see record.ts):
//   - durable accept: one block per synced write (buildAndAccept with max 1), in process;
//   - `tsvm propose -` with many payloads (group commit), the CLI as a child process, with its peak RSS.
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {TimestampVM} from '../src/vm/vm.js'
import {
  BENCH_DIST,
  BIN,
  type Figure,
  type Sizes,
  childEnv,
  median,
  progress,
  run,
  throughputFigure,
  tsvm,
  tsvmOk,
} from './lib.js'
import {decodeWrites, describeWrites, replay, startRecording} from './record.js'

/** `n` distinct random 32-byte payloads. */
function payloads(n: number): Uint8Array[] {
  const all = randomBytes(32 * n)
  return Array.from({length: n}, (_, i) => all.subarray(32 * i, 32 * i + 32))
}

/** Durable accept: blocks/s of buildAndAccept({max: 1}) from a full mempool, each its own synced batch. */
export async function durableAccept(sizes: Sizes, workDir: string): Promise<Figure> {
  const n = Math.min(sizes.acceptBlocks, 4096)
  const ours: number[] = []
  const bare: number[] = []
  let shape: ReturnType<typeof describeWrites> | undefined
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`durable accept: run ${r + 1}/${sizes.repeats}, ${n} blocks`)
    const vm = await TimestampVM.open(join(workDir, `accept-${r}`))
    let recording: ReturnType<typeof startRecording> | undefined
    try {
      await vm.initialize(new Uint8Array(32))
      await vm.proposeMany(payloads(n))
      recording = startRecording()
      const start = performance.now()
      for (let i = 0; i < n; i++) await vm.buildAndAccept({max: 1})
      ours.push(performance.now() - start)
    } finally {
      recording?.stop()
      await vm.close()
    }

    shape = describeWrites(recording.writes)
    bare.push(await replay(join(workDir, `accept-bare-${r}`), recording.writes))
  }

  return throughputFigure({
    id: 'chain.durable-accept',
    name: 'durable accept, one block per synced write',
    value: (n * 1000) / median(ours),
    unit: 'blocks/s',
    baseline: {name: 'classic-level loop, same synced batches', value: (n * 1000) / median(bare), unit: 'blocks/s'},
    goal: '>= 0.6x',
    minRatio: 0.6,
    detail: {blocks: n, ms: ours, baselineMs: bare, writes: shape},
  })
}

/** `tsvm propose -` with `proposePayloads` hex payloads on stdin, whole process, plus its peak RSS. */
export async function proposeGroup(sizes: Sizes, workDir: string): Promise<Figure[]> {
  const n = sizes.proposePayloads
  const input = payloads(n)
    .map((p) => Buffer.from(p).toString('hex') + '\n')
    .join('')
  const args = ['propose', '-']

  // One untimed run under the recorder gives the batches the baseline replays.
  progress(`propose: recording the writes of ${n} payloads`)
  const recordFile = join(workDir, 'propose.writes')
  const recDir = join(workDir, 'propose-rec')
  await tsvmOk(['init'], {env: childEnv({TSVM_DATA_DIR: recDir})})
  const rec = await run(process.execPath, ['--import', join(BENCH_DIST, 'record-hook.js'), BIN, ...args], {
    input,
    env: childEnv({TSVM_DATA_DIR: recDir, BENCH_RECORD_FILE: recordFile}),
  })
  if (rec.code !== 0) throw new Error(`tsvm propose - exited ${rec.code}: ${rec.stderr}`)
  const shape = describeWrites(decodeWrites(readFileSync(recordFile)))

  const ours: number[] = []
  const bare: number[] = []
  const rss: number[] = []
  const bareRss: number[] = []
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`propose: run ${r + 1}/${sizes.repeats}`)
    const env = childEnv({TSVM_DATA_DIR: join(workDir, `propose-${r}`)})
    await tsvmOk(['init'], {env})
    const a = await tsvm(args, {input, env, rss: true})
    if (a.code !== 0) throw new Error(`tsvm propose - exited ${a.code}: ${a.stderr}`)
    const b = await run(
      process.execPath,
      [join(BENCH_DIST, 'level-loop.js'), recordFile, join(workDir, `propose-bare-${r}`)],
      {rss: true},
    )
    if (b.code !== 0) throw new Error(`level-loop exited ${b.code}: ${b.stderr}`)
    ours.push(a.ms)
    bare.push(b.ms)
    if (a.peakRssKb !== undefined) rss.push(a.peakRssKb)
    if (b.peakRssKb !== undefined) bareRss.push(b.peakRssKb)
  }

  return [
    throughputFigure({
      id: 'chain.propose',
      name: `tsvm propose - with ${n} payloads (group commit)`,
      value: (n * 1000) / median(ours),
      unit: 'blocks/s',
      baseline: {
        name: 'classic-level loop, same batches (process)',
        value: (n * 1000) / median(bare),
        unit: 'blocks/s',
      },
      goal: '>= 20000 blocks/s and >= 0.8x',
      minRatio: 0.8,
      minValue: 20_000,
      detail: {payloads: n, ms: ours, baselineMs: bare, writes: shape},
    }),
    {
      id: 'chain.propose.rss',
      name: `tsvm propose - with ${n} payloads, peak RSS`,
      value: rss.length > 0 ? median(rss) / 1024 : 0,
      unit: 'MiB',
      baseline:
        bareRss.length > 0
          ? {name: 'classic-level loop process', value: median(bareRss) / 1024, unit: 'MiB'}
          : undefined,
      ratio: rss.length > 0 && bareRss.length > 0 ? median(rss) / median(bareRss) : undefined,
      detail: {runsKb: rss, baselineRunsKb: bareRss},
    },
  ]
}
