// bench/report.html: one self-contained page (inline SVG and CSS, no script, nothing fetched)
// drawn from a run's figures. It shows proposeBlock's latency distribution at the goal's open
// load for tsvm serve, the durable floor and the bare node:http server, as CDFs on a log time
// axis (the tail is where they differ), then each figure with a baseline as a pair of bars
// scaled to that baseline, with the goal marked, then the table itself.
import {CDF_POINTS, type LoadResult} from './load.js'
import type {Figure} from './lib.js'

/** What the page is drawn from: the run's figures, failures and where it ran. */
export interface ReportInput {
  figures: Figure[]
  failures: Record<string, string>
  started: string
  quick: boolean
  machine: Record<string, unknown>
  /** The Markdown table the run printed. */
  table: string
}

const esc = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

const fmt = (x: number): string =>
  x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0'

/** The median of each CDF point over the runs that carry one (undefined when none does). */
export function medianCdf(runs: LoadResult[] | undefined): number[] | undefined {
  const cdfs = (runs ?? []).map((r) => r.cdf).filter((c): c is number[] => Array.isArray(c) && c.length > 0)
  if (cdfs.length === 0) return undefined
  return CDF_POINTS.map((_, i) => {
    const xs = cdfs.map((c) => c[i] ?? 0).sort((a, b) => a - b)
    const m = Math.floor(xs.length / 2)
    return xs.length % 2 === 1 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2
  })
}

const COLORS = ['#c0392b', '#2471a3', '#7f8c8d', '#d68910']

/** The CDF chart: fraction of requests answered within x ms, x on a log axis. */
function cdfSvg(series: Array<{name: string; cdf: number[]}>): string {
  const [w, h, left, right, top, bottom] = [720, 360, 56, 170, 16, 44]
  const all = series.flatMap((s) => s.cdf).filter((x) => x > 0)
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)))
  const x = (ms: number) =>
    left + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * (w - left - right)
  const y = (p: number) => top + (1 - p) * (h - top - bottom)
  const parts: string[] = []
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(
      `<line x1="${x(d)}" y1="${top}" x2="${x(d)}" y2="${h - bottom}" stroke="#ddd"/>`,
      `<text x="${x(d)}" y="${h - bottom + 16}" text-anchor="middle">${fmt(d)} ms</text>`,
    )
  }

  for (const p of [0, 0.5, 0.9, 0.99, 1]) {
    parts.push(
      `<line x1="${left}" y1="${y(p)}" x2="${w - right}" y2="${y(p)}" stroke="${p === 0.99 ? '#999' : '#eee'}"/>`,
      `<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end">${p * 100}%</text>`,
    )
  }

  for (const [i, s] of series.entries()) {
    const pts = s.cdf.map((ms, k) => `${x(ms).toFixed(1)},${y(CDF_POINTS[k]!).toFixed(1)}`)
    const color = COLORS[i % COLORS.length]!
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${x(s.cdf[0] ?? lo).toFixed(1)},${y(0)} ${pts.join(' ')}"/>`,
    )
    const p99 = s.cdf[CDF_POINTS.indexOf(0.99)] ?? 0
    parts.push(
      `<text x="${w - right + 10}" y="${top + 20 + i * 36}" fill="${color}">${esc(s.name)}</text>`,
      `<text x="${w - right + 10}" y="${top + 36 + i * 36}" fill="${color}">p99 ${fmt(p99)} ms</text>`,
    )
  }

  parts.push(`<text x="${(left + w - right) / 2}" y="${h - 6}" text-anchor="middle">latency (log scale)</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-size="12" font-family="sans-serif">${parts.join('')}</svg>`
}

/**
 * One figure as two bars scaled to its baseline (the baseline is 1.0x), with the goal's ratio
 * marked; a third for the durable floor under the same load when the figure has one (proposeBlock
 * closed load: what a server that commits before answering does here, beside the bare server).
 */
function barsSvg(f: Figure): string {
  const [w, barH, left, right] = [720, 18, 230, 90]
  const ratio = f.ratio ?? 0
  const goal = /([\d.]+)x/.exec(f.goal ?? '')?.[1]
  const floor = (f.detail.durableFloor as {rps?: number} | undefined)?.rps
  const floorRatio = floor === undefined ? undefined : floor / f.baseline!.value
  const span = Math.max(1.2, ratio * 1.1, goal ? Number(goal) * 1.1 : 0, (floorRatio ?? 0) * 1.1)
  const x = (r: number) => left + (r / span) * (w - left - right)
  const color = f.met === false ? '#c0392b' : f.met === true ? '#1e8449' : '#555'
  const rows = [
    `<text x="0" y="14">${esc(`tsvm: ${fmt(f.value)} ${f.unit}`)}</text>`,
    `<rect x="${left}" y="2" width="${x(ratio) - left}" height="${barH}" fill="${color}"/>`,
    `<text x="${x(ratio) + 6}" y="16">${ratio.toFixed(2)}x</text>`,
    `<text x="0" y="${14 + barH + 6}">${esc(`baseline: ${fmt(f.baseline!.value)} ${f.baseline!.unit}`)}</text>`,
    `<rect x="${left}" y="${barH + 8}" width="${x(1) - left}" height="${barH}" fill="#aab7b8"/>`,
  ]
  const bars = floorRatio === undefined ? 2 : 3
  if (floorRatio !== undefined)
    rows.push(
      `<text x="0" y="${14 + 2 * (barH + 6)}">${esc(`durable floor: ${fmt(floor!)} ${f.unit}`)}</text>`,
      `<rect x="${left}" y="${2 * barH + 14}" width="${x(floorRatio) - left}" height="${barH}" fill="#5d6d7e"/>`,
      `<text x="${x(floorRatio) + 6}" y="${2 * barH + 28}">${floorRatio.toFixed(2)}x</text>`,
    )
  if (goal)
    rows.push(
      `<line x1="${x(Number(goal))}" y1="0" x2="${x(Number(goal))}" y2="${bars * barH + 6 * bars}" stroke="#000" stroke-dasharray="4 3"/>`,
      `<text x="${x(Number(goal)) + 4}" y="${bars * barH + 6 * bars + 10}" font-size="11">goal ${esc(f.goal!)}</text>`,
    )
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${bars * barH + 6 * bars + 16}" font-size="12" font-family="sans-serif">${rows.join('')}</svg>`
}

/** The cells of one Markdown table row, escaped. */
const cells = (l: string): string[] =>
  l
    .slice(1, -1)
    .split(' | ')
    .map((c) => esc(c.trim()))

/** The Markdown table as an HTML table. */
function tableHtml(markdown: string): string {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
  const [head, ...body] = lines
  if (head === undefined) return ''
  return `<table><tr>${cells(head)
    .map((c) => `<th>${c}</th>`)
    .join('')}</tr>${body
    .map(
      (l) =>
        `<tr>${cells(l)
          .map((c) => `<td>${c}</td>`)
          .join('')}</tr>`,
    )
    .join('')}</table>`
}

/** The page. */
export function renderReport(input: ReportInput): string {
  const tail = input.figures.find((f) => f.id === 'serve.proposeBlock.p99')
  const series = [
    {name: 'tsvm serve', cdf: medianCdf(tail?.detail.runs as LoadResult[] | undefined)},
    {name: 'durable floor', cdf: medianCdf(tail?.detail.baselineRuns as LoadResult[] | undefined)},
    {name: 'bare node:http', cdf: medianCdf(tail?.detail.bareFixedBodyRuns as LoadResult[] | undefined)},
    {
      name: 'tsvm serve, V8 pool 1',
      cdf: medianCdf((tail?.detail.v8PoolSize1 as {runs?: LoadResult[]} | undefined)?.runs),
    },
  ].filter((s): s is {name: string; cdf: number[]} => s.cdf !== undefined)
  const cdf =
    series.length > 0
      ? `<h2>proposeBlock latency at the goal's open load</h2><p>${esc(tail!.name)}: the fraction of requests answered within a time, from the moment each was due, median of each point over the repeats. tsvm serve answers only once a proposal is on disk; the durable floor is node:http with a bare classic-level group commit of the same writes; the bare server answers a fixed body without writing; "V8 pool 1" is tsvm serve run with node's --v8-pool-size=1.</p>${cdfSvg(series)}`
      : '<p>No proposeBlock latency distribution in this run (the serve group did not run).</p>'
  const bars = input.figures
    .filter((f) => f.baseline !== undefined && f.ratio !== undefined && f.id !== 'serve.proposeBlock.p99')
    .map((f) => `<h3>${esc(f.name)}</h3>${barsSvg(f)}`)
    .join('\n')
  const p99Bars = tail?.ratio === undefined ? '' : `<h3>${esc(tail.name)} (lower is better)</h3>${barsSvg(tail)}`
  const machine = Object.entries(input.machine)
    .map(([k, v]) => `${esc(k)}: ${esc(String(v))}`)
    .join(', ')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsvm benchmark ${esc(input.started)}</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}h3{font-size:.95rem;margin:1.2rem 0 .3rem}</style>
</head><body>
<h1>tsvm benchmark</h1>
<p>Run started ${esc(input.started)}${input.quick ? ' (--quick sizes)' : ''}; ${machine}. Every figure is the median of several repeats, next to a baseline measured in the same run; the ratio is what compares across machines.</p>
${cdf}
<h2>Each figure against its baseline</h2>
<p>Bars are scaled to the baseline (1.0x); higher is better except for times. The dashed line is the goal; a red bar misses it.</p>
${p99Bars}
${bars}
<h2>The table</h2>
${tableHtml(input.table)}
${Object.keys(input.failures).length > 0 ? `<p>Failed groups: ${esc(Object.keys(input.failures).join(', '))}</p>` : ''}
</body></html>
`
}
