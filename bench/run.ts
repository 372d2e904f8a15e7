// The benchmark runner: `npm run bench [-- --quick] [-- --only startup,serve,plugin,adopt,verify]`.
// Runs every figure group, prints the table on stdout and writes bench/results.json. Each
// figure is the median of several repeats, next to a baseline measured in the same run on the
// same machine; the ratio is what to compare across machines, not the absolute numbers.
import {writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {adoptFigure} from './adopt.js'
import {durableAccept, proposeGroup} from './chain.js'
import {type Figure, FULL, QUICK, ROOT, type Sizes, progress, tempDir} from './lib.js'
import {pluginFigures} from './plugin.js'
import {renderReport} from './report.js'
import {serveFigures} from './serve.js'
import {stampFigure} from './stamp.js'
import {startupGetBlock, startupVmId} from './startup.js'
import {verifyFigure} from './verify.js'

/** The figure groups, in running order; each gets its own scratch directory. `--only startup` picks both start-up groups. */
export const GROUPS: Record<string, (sizes: Sizes, dir: string) => Promise<Figure | Figure[]>> = {
  'startup-vm-id': startupVmId,
  'startup-get-block': (sizes, dir) => startupGetBlock(sizes, join(dir, 'chain')),
  accept: durableAccept,
  propose: proposeGroup,
  stamp: stampFigure,
  verify: verifyFigure,
  serve: serveFigures,
  plugin: pluginFigures,
  adopt: adoptFigure,
}

/**
 * Runs the chosen groups; a group that fails yields a row saying so instead of stopping the run.
 * Scratch directories are removed only at the end: on ext4 without a journal (as on some VMs),
 * creating files near thousands of just-deleted ones costs up to ten times more for a few
 * minutes, so one group's cleanup would slow the next group's file creation.
 */
export async function runBench(
  sizes: Sizes,
  only?: string[],
): Promise<{figures: Figure[]; failures: Record<string, string>}> {
  const figures: Figure[] = []
  const failures: Record<string, string> = {}
  const cleanups: Array<() => Promise<void>> = []
  try {
    for (const [name, group] of Object.entries(GROUPS)) {
      if (only && !only.some((o) => name === o || name.startsWith(`${o}-`))) continue
      const {dir, cleanup} = await tempDir(`tsvm-bench-${name}-`)
      cleanups.push(cleanup)
      try {
        const out = await group(sizes, dir)
        figures.push(...(Array.isArray(out) ? out : [out]))
      } catch (error) {
        failures[name] = error instanceof Error ? error.message : String(error)
        progress(`${name} failed: ${failures[name]}`)
      }
    }
  } finally {
    for (const cleanup of cleanups) await cleanup()
  }

  return {figures, failures}
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2))

/** The table as Markdown: figure, value, baseline, ratio, goal, met. */
export function formatTable(figures: Figure[], failures: Record<string, string> = {}): string {
  const rows = [
    ['figure', 'value', 'baseline (same run)', 'ratio', 'goal', 'met'],
    ['---', '---:', '---', '---:', '---', '---'],
  ]
  for (const f of figures) {
    const extra = typeof f.detail.p99Ms === 'number' ? `, p99 ${fmt(f.detail.p99Ms)} ms` : ''
    rows.push([
      f.name,
      `${fmt(f.value)} ${f.unit}${extra}`,
      f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.baseline.unit}` : '—',
      f.ratio === undefined ? '—' : `${f.ratio.toFixed(2)}x`,
      f.goal ?? 'reported',
      f.met === undefined ? '—' : f.met ? 'yes' : 'NO',
    ])
  }

  for (const [name, message] of Object.entries(failures))
    rows.push([name, 'failed', message.split('\n')[0]!.slice(0, 80), '—', '—', 'NO'])
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n')
}

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick')
  const onlyAt = argv.indexOf('--only')
  const only = onlyAt === -1 ? undefined : (argv[onlyAt + 1] ?? '').split(',').filter(Boolean)
  const outAt = argv.indexOf('--out')
  const out = outAt === -1 ? join(ROOT, 'bench', 'results.json') : argv[outAt + 1]!
  const sizes = quick ? QUICK : FULL
  const started = new Date().toISOString()
  const {figures, failures} = await runBench(sizes, only)
  const table = formatTable(figures, failures)
  process.stdout.write(table + '\n')
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
  }
  writeFileSync(
    out,
    JSON.stringify({started, finished: new Date().toISOString(), quick, sizes, machine, figures, failures}, null, 2) +
      '\n',
  )
  progress(`results written to ${out}`)
  // The page goes beside the results: bench/report.html, or <out>.html for --out <out>.json.
  const page = outAt >= 0 ? out.replace(/(\.json)?$/, '.html') : join(ROOT, 'bench', 'report.html')
  writeFileSync(page, renderReport({figures, failures, started, quick, machine, table}))
  progress(`report written to ${page}`)
  if (Object.keys(failures).length > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2))
