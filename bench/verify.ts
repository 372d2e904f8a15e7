// `tsvm verify` of the 10,000 receipts a `tsvm stamp --out` run wrote, in one process, against
// `sha256sum -c` over the same files: files per second, whole process each. Both read and hash
// every file; verify also reads, parses and checks each receipt and checks the block on the chain
// (anchored-chain), which sha256sum has no equivalent of.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Figure, type Sizes, childEnv, median, progress, run, throughputFigure, tsvm, tsvmOk} from './lib.js'
import {makeTree, STAMP_FILE_BYTES} from './stamp.js'

export async function verifyFigure(sizes: Sizes, workDir: string): Promise<Figure> {
  const n = sizes.stampFiles
  progress(`verify: writing and stamping ${n} files`)
  mkdirSync(join(workDir, 'tree'), {recursive: true})
  const names = makeTree(join(workDir, 'tree'), n).map((name) => `tree/${name}`)
  const env = childEnv({TSVM_DATA_DIR: join(workDir, 'chain')})
  await tsvmOk(['stamp', 'tree', '--out', 'receipts', '--json'], {env, cwd: workDir})
  const sums = await run('sha256sum', names, {cwd: workDir})
  if (sums.code !== 0) throw new Error(`sha256sum exited ${sums.code}: ${sums.stderr}`)
  writeFileSync(join(workDir, 'sums.txt'), sums.stdout)
  const ours: number[] = []
  const bare: number[] = []
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`verify: run ${r + 1}/${sizes.repeats}`)
    // alternate which side goes first, so neither always meets a cache the other warmed
    const sides = [
      async () => {
        const a = await tsvm(['verify', 'tree', '--out', 'receipts'], {env, cwd: workDir})
        if (a.code !== 0) throw new Error(`tsvm verify exited ${a.code}: ${a.stderr.slice(0, 500)}`)
        if (a.stdout.split('\n').filter((l) => l.startsWith('verified')).length !== n)
          throw new Error(`tsvm verify did not verify all ${n} files`)
        ours.push(a.ms)
      },
      async () => {
        const b = await run('sha256sum', ['-c', 'sums.txt'], {cwd: workDir})
        if (b.code !== 0) throw new Error(`sha256sum -c exited ${b.code}: ${b.stderr.slice(0, 500)}`)
        bare.push(b.ms)
      },
    ]
    for (const side of r % 2 === 0 ? sides : sides.reverse()) await side()
  }

  return throughputFigure({
    id: 'verify',
    name: `tsvm verify of the ${n} receipts of a stamp --out run (${STAMP_FILE_BYTES} B files, anchored on the chain)`,
    value: (n * 1000) / median(ours),
    unit: 'files/s',
    baseline: {name: 'sha256sum -c over the same files', value: (n * 1000) / median(bare), unit: 'files/s'},
    goal: '>= 0.5x',
    minRatio: 0.5,
    detail: {files: n, ms: ours, baselineMs: bare},
  })
}
