// `tsvm stamp` of a directory of many small files against `sha256sum` over the same files:
// files per second, whole process each (start-up, hashing, the one proposal, the receipts).
// Stamping creates a receipt per file and sha256sum creates nothing, so the figure depends on
// what creating a file costs on the machine at that moment; that cost is measured next to it
// (detail.createUsPerFile) to tell a slow file system from slow code.
import {randomBytes} from 'node:crypto'
import {closeSync, mkdirSync, openSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Figure, type Sizes, childEnv, median, now, progress, run, throughputFigure, tsvm, tsvmOk} from './lib.js'

/** Size of each generated file. */
export const STAMP_FILE_BYTES = 16_384

/** Writes `n` files of random bytes in subdirectories of 100; returns their paths relative to `dir`. */
export function makeTree(dir: string, n: number): string[] {
  const names: string[] = []
  for (let i = 0; i < n; i++) {
    const sub = `d${String(Math.floor(i / 100)).padStart(3, '0')}`
    if (i % 100 === 0) mkdirSync(join(dir, sub), {recursive: true})
    const name = `${sub}/f${String(i).padStart(5, '0')}.bin`
    writeFileSync(join(dir, name), randomBytes(STAMP_FILE_BYTES))
    names.push(name)
  }

  return names
}

/** Microseconds to create one small file: `n` exclusive creates with a write, in fresh directories of 100. */
function createCost(dir: string, n: number): number {
  const body = Buffer.alloc(1800, 0x20)
  const t = now()
  for (let i = 0; i < n; i++) {
    if (i % 100 === 0) mkdirSync(join(dir, `p${i / 100}`), {recursive: true})
    const fd = openSync(join(dir, `p${Math.floor(i / 100)}`, `${i}.tsvm`), 'wx')
    writeFileSync(fd, body)
    closeSync(fd)
  }

  return ((now() - t) * 1000) / n
}

/** Above this, file creation is slow on this machine right now, and the stamp figure says so. */
const SLOW_CREATE_US = 150

export async function stampFigure(sizes: Sizes, workDir: string): Promise<Figure> {
  const n = sizes.stampFiles
  progress(`stamp: writing ${n} files`)
  const tree = join(workDir, 'tree')
  mkdirSync(tree, {recursive: true})
  const names = makeTree(tree, n)
  const dataDir = join(workDir, 'stamp-chain')
  const env = childEnv({TSVM_DATA_DIR: dataDir})
  await tsvmOk(['init'], {env})
  const ours: number[] = []
  const bare: number[] = []
  const creates: number[] = []
  // Warm the page cache once, so neither side pays for the first read.
  await run('sha256sum', names, {cwd: tree})
  for (let r = 0; r < sizes.repeats; r++) {
    progress(`stamp: run ${r + 1}/${sizes.repeats}`)
    creates.push(createCost(join(workDir, `probe-${r}`), 1000))
    const a = await tsvm(['stamp', tree, '--out', join(workDir, `receipts-${r}`), '--json'], {env})
    if (a.code !== 0) throw new Error(`tsvm stamp exited ${a.code}: ${a.stderr}`)
    const b = await run('sha256sum', names, {cwd: tree})
    if (b.code !== 0) throw new Error(`sha256sum exited ${b.code}: ${b.stderr}`)
    ours.push(a.ms)
    bare.push(b.ms)
  }

  const createUs = median(creates)
  if (createUs > SLOW_CREATE_US) {
    progress(
      `stamp: creating a file costs ${createUs.toFixed(0)} us here right now (usually 30-60): the figure is lowered by the file system (ext4 without a journal rescans recently deleted inodes for minutes after mass deletions)`,
    )
  }

  return throughputFigure({
    id: 'stamp',
    name: `tsvm stamp of a ${n}-file directory (${STAMP_FILE_BYTES} B files)`,
    value: (n * 1000) / median(ours),
    unit: 'files/s',
    baseline: {name: 'sha256sum over the same files', value: (n * 1000) / median(bare), unit: 'files/s'},
    goal: '>= 0.8x',
    minRatio: 0.8,
    detail: {files: n, ms: ours, baselineMs: bare, createUsPerFile: Math.round(createUs)},
  })
}
