// The text of a progress line on stderr: how far, how fast, and how long is left. Pure, so its
// numbers are tested without a terminal; BaseCommand.progress writes it (only on a terminal).

/** A count of bytes as people read it: 512 B, 12.3 MiB, 1.00 GiB. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let u = 0
  let v = n
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }

  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`
}

/** Seconds as a short duration: 45s, 3m05s, 2h10m. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * `label done/total  rate  ETA t` (rate and ETA once some work was done; no
 * total: no ETA). Counts are items, or bytes with unit 'bytes'.
 */
export function progressText(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  unit: 'items' | 'bytes' = 'items',
): string {
  const num = (n: number) => (unit === 'bytes' ? bytesText(n) : n.toLocaleString('en-US'))
  let text = `${label} ${total > 0 ? `${num(done)}/${num(total)}` : num(done)}`
  if (done > 0 && elapsedMs > 0) {
    const rate = (done * 1000) / elapsedMs
    text += `  ${unit === 'bytes' ? `${bytesText(rate)}/s` : `${Math.round(rate).toLocaleString('en-US')}/s`}`
    if (total > done) text += `  ETA ${durationText((total - done) / rate)}`
  }

  return text
}
